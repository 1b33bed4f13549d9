"""Pull a billing source: read its cost lines through `sources.billing`, allocate, replace.

A pull covers whole UTC days [start, end). It reads every line first; only then, in one
transaction with the source's row locked (two pulls of one source wait for each other), it
deletes that source's rows of those days and writes the new ones, so a second pull replaces the
first and a failed read changes nothing. The failure is recorded in `last_error` (the bill's
own words, never credentials); `last_pulled_at` moves only on success.

Bill pulls are not on the audit trail: they change no capacity or plan, and the trail's
`AuditEvent` lives in the plans app, above this one. Who changed a source is audited (the admin).
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Team
from apps.billing.models import BilledCost, BillingSource
from apps.workloads.models import Workload
from sources import billing

log = logging.getLogger(__name__)

# Cost Explorer and CUR restate recent days as usage is rated and credits land; a daily pull
# rereads this many days before today.
RESTATED_DAYS = 7
OPENCOST_TIMEOUT_S = 30.0
CE_REGION = "us-east-1"  # Cost Explorer's one endpoint, whatever region the account runs in
LOCAL_CUR_FOLDER = "billing"  # under BALLAST_VAR_DIR: local exports (the demo's sample) live here

ClientFactory = Callable[[str], Any]


def aws_client(service: str) -> Any:
    """A boto3 client from the settings (BALLAST_AWS_REGION, BALLAST_AWS_ENDPOINT_URL).

    Credentials are boto3's own chain (environment, instance role); Ballast stores none.
    """
    region = CE_REGION if service == "ce" else settings.AWS_REGION
    config = Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=60)
    endpoint = settings.AWS_ENDPOINT_URL or None
    return boto3.client(service, region_name=region, endpoint_url=endpoint, config=config)


def pull(
    *,
    source: BillingSource,
    start: date,
    end: date,
    clients: ClientFactory = aws_client,
    urlopen: Callable[..., Any] = urllib.request.urlopen,
) -> BillingSource:
    """Replace the source's rows of [start, end) with what the bill says now; record how it went.

    Returns the source as stored after the pull: `last_error` is "" on success. Only database
    errors propagate (the task retries them).
    """
    try:
        lines = read_lines(source=source, start=start, end=end, clients=clients, urlopen=urlopen)
    except (ValueError, OSError, BotoCoreError, ClientError) as exc:  # OSError: a local file
        message = f"{start}..{end}: {exc}"[:2000]
        log.warning("billing source %s: %s", source.name, message)
        BillingSource.objects.filter(pk=source.pk).update(last_error=message)
        source.refresh_from_db()
        return source
    with transaction.atomic():
        BillingSource.objects.select_for_update().filter(pk=source.pk).first()
        replace_costs(source=source, start=start, end=end, lines=lines)
        BillingSource.objects.filter(pk=source.pk).update(
            last_pulled_at=timezone.now(), last_error=""
        )
    log.info("billing source %s: %d lines for %s..%s", source.name, len(lines), start, end)
    source.refresh_from_db()
    return source


def pull_recent(source_id: int, *, today: date | None = None) -> BillingSource | None:
    """Pull the RESTATED_DAYS whole days before `today` (UTC); None if the source is gone."""
    source = BillingSource.objects.filter(pk=source_id).first()
    if source is None:
        return None
    end = today or timezone.now().date()
    return pull(source=source, start=end - timedelta(days=RESTATED_DAYS), end=end)


def read_lines(
    *,
    source: BillingSource,
    start: date,
    end: date,
    clients: ClientFactory = aws_client,
    urlopen: Callable[..., Any] = urllib.request.urlopen,
) -> list[billing.CostLine]:
    """The source's cost lines over [start, end), read through `sources.billing`."""
    config = source.settings if isinstance(source.settings, dict) else {}
    if source.kind == BillingSource.Kind.COST_EXPLORER:
        return billing.read_cost_explorer(
            clients("ce"), start=start, end=end, tag_key=source.tag_key
        )
    if source.kind == BillingSource.Kind.CUR:
        files, prefix = cur_files(config, clients)
        return billing.read_cur(files, prefix=prefix, start=start, end=end, tag_key=source.tag_key)
    if source.kind == BillingSource.Kind.OPENCOST:
        url = _setting(config, "url")
        return billing.read_opencost(
            url,
            start=start,
            end=end,
            label=source.tag_key,
            timeout_s=OPENCOST_TIMEOUT_S,
            urlopen=urlopen,
        )
    raise ValueError(f"kind {source.kind!r} is not one Ballast reads")


def cur_files(config: dict[str, Any], clients: ClientFactory) -> tuple[billing.CurFiles, str]:
    """The export's files and data prefix: {'bucket', 'prefix'} on S3, or {'directory'} here.

    A local directory is a folder under BALLAST_VAR_DIR/billing (the demo's sample), so a source
    cannot have the worker read files elsewhere on its machine.
    """
    if "directory" in config:
        root = Path(settings.VAR_DIR) / LOCAL_CUR_FOLDER
        return billing.LocalFiles(root), _setting(config, "directory")
    return billing.S3Files(clients("s3"), _setting(config, "bucket")), str(config.get("prefix", ""))


def _setting(config: dict[str, Any], name: str) -> str:
    value = config.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"settings.{name} is missing: the source's settings must name it")
    return value.strip()


def replace_costs(
    *, source: BillingSource, start: date, end: date, lines: list[billing.CostLine]
) -> int:
    """Delete the source's rows of [start, end), write `lines` allocated; call in a transaction."""
    BilledCost.objects.filter(source=source, day__gte=start, day__lt=end).delete()
    rows = allocate(source, lines)
    BilledCost.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def allocate(source: BillingSource, lines: list[billing.CostLine]) -> list[BilledCost]:
    """One row per line, with the team and workload its tag value `<team>/<workload>` names.

    A tag naming no workload keeps the team when the team exists; anything else is kept with
    neither (only FinOps reads those rows).
    """
    slugs = {line.tag_value.split("/", 1)[0] for line in lines if "/" in line.tag_value}
    teams = {team.slug: team for team in Team.objects.filter(slug__in=slugs)}
    workloads = {
        (workload.team.slug, workload.name): workload
        for workload in Workload.objects.filter(team__slug__in=slugs).select_related("team")
    }
    rows = []
    for line in lines:
        slug, slash, name = line.tag_value.partition("/")
        rows.append(
            BilledCost(
                source=source,
                day=line.day,
                team=teams.get(slug) if slash else None,
                workload=workloads.get((slug, name)) if slash else None,
                tag_value=line.tag_value,
                usage_type=line.usage_type,
                purchase_option=line.purchase_option,
                amount_usd=line.amount_usd,
            )
        )
    return rows
