"""Refresh on-demand and spot prices from AWS's Price List and spot price history, then import.

Credentials come from boto3's standard chain (environment, profile, instance role); endpoints
default to `BALLAST_AWS_ENDPOINT_URL` when set. The Price List API is served from us-east-1
whatever region is priced. Interruption bands, reserved prices and serverless entries have no
API and are carried over from the base catalog file.
"""

import json
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.catalog.management.commands.import_catalog import DEFAULT_CATALOG
from apps.catalog.services import CatalogError, import_catalog
from sources.aws_prices import refresh_catalog


class Command(BaseCommand):
    """`manage.py refresh_aws_catalog [--types m5.large,...] [--region us-east-1]`."""

    help = "Fetch fresh AWS on-demand and spot prices and import them as new price points."

    def add_arguments(self, parser):
        """Types, region, base catalog, endpoints (for tests and private endpoints)."""
        parser.add_argument("--types", default="", help="comma-separated; default: the base's")
        parser.add_argument("--region", default=settings.AWS_REGION)
        parser.add_argument("--base", default=str(DEFAULT_CATALOG), help="catalog to carry over")
        parser.add_argument("--pricing-endpoint-url", default=settings.AWS_ENDPOINT_URL or None)
        parser.add_argument("--ec2-endpoint-url", default=settings.AWS_ENDPOINT_URL or None)

    def handle(self, *args, types, region, base, pricing_endpoint_url, ec2_endpoint_url, **opts):
        """Fetch, merge with the base, import; say what changed."""
        try:
            existing = json.loads(Path(base).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"--base {base}: {exc}") from exc
        names = [t.strip() for t in types.split(",") if t.strip()] or [
            entry["name"] for entry in existing.get("instances", []) if entry["region"] == region
        ]
        pricing = boto3.client(
            "pricing", region_name="us-east-1", endpoint_url=pricing_endpoint_url
        )
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=ec2_endpoint_url)
        try:
            catalog = refresh_catalog(pricing, ec2, names, region=region, existing=existing)
            summary = import_catalog(catalog)
        except (ClientError, BotoCoreError) as exc:
            raise CommandError(f"AWS: {exc}") from exc
        except (ValueError, CatalogError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{len(names)} instance types refreshed in {region}; offers: "
            f"{summary.offers_created} new, {summary.offers_unchanged} unchanged"
        )
