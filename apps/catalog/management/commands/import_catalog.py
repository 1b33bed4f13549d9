"""Import a pricing catalog JSON file; importing the same file twice changes nothing."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.catalog.services import CatalogError, import_catalog

DEFAULT_CATALOG = Path(__file__).resolve().parents[4] / "data" / "pricing" / "aws-us-east-1.json"


class Command(BaseCommand):
    """`manage.py import_catalog [FILE]` (default: the shipped AWS us-east-1 catalog)."""

    help = "Import a ballast.pricing-catalog/v1 JSON file idempotently."

    def add_arguments(self, parser):
        """An optional path."""
        parser.add_argument("path", nargs="?", default=str(DEFAULT_CATALOG))

    def handle(self, *args, path: str, **options):
        """Parse, import, report."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        try:
            summary = import_catalog(data)
        except CatalogError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(
            f"{summary.instance_types} instance types; offers: {summary.offers_created} new, "
            f"{summary.offers_unchanged} unchanged; serverless: {summary.serverless_created} new, "
            f"{summary.serverless_unchanged} unchanged"
        )
        for line in summary.skipped:
            self.stdout.write(f"skipped {line}")
