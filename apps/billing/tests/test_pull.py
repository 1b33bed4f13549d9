"""Pulling a billing source: allocation to workloads, replacement, nothing partial, visibility.

Cost Explorer sources are pulled from moto's server over HTTP (results queued as in
tests/sources/test_billing.py); CUR sources from gzip CSV files in a local export folder under
a temporary BALLAST_VAR_DIR, written by the demo's writer with CUR 2.0's column names.
"""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.billing import services, tasks
from apps.billing.demo import CurRow, seed_demo_billing, write_cur_file
from apps.billing.models import BilledCost, BillingSource
from apps.workloads.models import Workload
from tests.sources.test_billing import ce_day, queue_ce_results

TAG = "ballast:workload"
NOV2, NOV3, NOV4 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)


@pytest.fixture
def export(db, settings, tmp_path):
    """A CUR source reading BALLAST_VAR_DIR/billing/cur/, and a writer of its files."""
    settings.VAR_DIR = tmp_path
    source = BillingSource.objects.create(
        name="cur", kind=BillingSource.Kind.CUR, settings={"directory": "cur"}
    )

    def write(name: str, rows: list[CurRow]) -> None:
        write_cur_file(tmp_path / "billing" / "cur" / "BILLING_PERIOD=2026-11" / name, rows)

    write.source = source
    write.folder = tmp_path / "billing" / "cur" / "BILLING_PERIOD=2026-11"
    return write


@pytest.fixture
def ranker(team_a):
    return Workload.objects.create(team=team_a, name="ranker", kind="online")


def rows_of(source) -> set[tuple]:
    return {
        (
            c.day,
            c.tag_value,
            c.usage_type,
            c.purchase_option,
            c.amount_usd,
            c.team_id,
            c.workload_id,
        )
        for c in BilledCost.objects.filter(source=source)
    }


def test_lines_are_allocated_to_the_workload_the_tag_names(aws, moto_server, team_a, ranker):
    source = BillingSource.objects.create(name="ce", kind=BillingSource.Kind.COST_EXPLORER)
    queue_ce_results(
        moto_server,
        [
            {
                "ResultsByTime": [
                    ce_day(
                        "2026-11-02",
                        [
                            (f"{TAG}$team-a/ranker", "USE1-SpotUsage:g4dn.xlarge", "10.5"),
                            (f"{TAG}$team-a/gone", "USE1-BoxUsage:m5.large", "2.3"),
                            (f"{TAG}$nobody/ranker", "USE1-BoxUsage:m5.large", "1"),
                            (f"{TAG}$", "USE1-NatGateway-Hours", "1.08"),
                        ],
                    )
                ]
            }
        ],
    )
    pulled = services.pull(source=source, start=NOV2, end=NOV3, clients=aws)
    assert pulled.last_error == "" and pulled.last_pulled_at is not None
    spot, box, nat = "USE1-SpotUsage:g4dn.xlarge", "USE1-BoxUsage:m5.large", "USE1-NatGateway-Hours"
    assert rows_of(source) == {
        (NOV2, "team-a/ranker", spot, "spot", Decimal("10.5"), team_a.pk, ranker.pk),
        (NOV2, "team-a/gone", box, "on_demand", Decimal("2.3"), team_a.pk, None),
        (NOV2, "nobody/ranker", box, "on_demand", Decimal("1"), None, None),
        (NOV2, "", nat, "other", Decimal("1.08"), None, None),
    }


def test_a_second_pull_replaces_the_days_it_covers_and_keeps_the_others(export, ranker):
    spot = "USE1-SpotUsage:g4dn.xlarge"
    export(
        "a.csv.gz", [CurRow(NOV2, 5.0, spot, tag_value="team-a/ranker"), CurRow(NOV3, 7.0, spot)]
    )
    services.pull(source=export.source, start=NOV2, end=NOV4)
    export(
        "a.csv.gz", [CurRow(NOV2, 4.0, spot, tag_value="team-a/ranker"), CurRow(NOV3, 9.0, spot)]
    )
    pulled = services.pull(source=export.source, start=NOV3, end=NOV4)
    assert pulled.last_error == ""
    assert rows_of(export.source) == {
        (NOV2, "team-a/ranker", spot, "spot", Decimal("5"), ranker.team_id, ranker.pk),  # kept
        (NOV3, "", spot, "spot", Decimal("9"), None, None),  # replaced, not added
    }


def test_a_failing_file_leaves_every_row_as_it_was_and_says_why(export, ranker):
    export("a.csv.gz", [CurRow(NOV2, 5.0, "USE1-BoxUsage:m5.large", tag_value="team-a/ranker")])
    first = services.pull(source=export.source, start=NOV2, end=NOV4)
    before = rows_of(export.source)
    export("a.csv.gz", [CurRow(NOV2, 6.0, "USE1-BoxUsage:m5.large", tag_value="team-a/ranker")])
    (export.folder / "b.csv.gz").write_bytes(b"\x1f\x8b not gzip at all")
    failed = services.pull(source=export.source, start=NOV2, end=NOV4)
    assert "b.csv.gz: not a readable CUR file" in failed.last_error
    assert failed.last_pulled_at == first.last_pulled_at
    assert rows_of(export.source) == before


def test_a_source_without_its_settings_fails_naming_the_setting(db):
    source = BillingSource.objects.create(name="oc", kind=BillingSource.Kind.OPENCOST)
    assert (
        "settings.url is missing" in services.pull(source=source, start=NOV2, end=NOV3).last_error
    )


def test_a_local_export_cannot_name_a_folder_outside_its_own(export):
    export.source.settings = {"directory": "../../etc"}
    export.source.save()
    pulled = services.pull(source=export.source, start=NOV2, end=NOV3)
    assert "is outside" in pulled.last_error


def test_members_see_their_workloads_lines_and_only_finops_the_unallocated(
    export, make_user, ranker, team_a, team_b
):
    Workload.objects.create(team=team_b, name="scorer", kind="online")
    box = "USE1-BoxUsage:m5.large"
    export(
        "a.csv.gz",
        [
            CurRow(NOV2, 1.0, box, tag_value="team-a/ranker"),
            CurRow(NOV2, 2.0, box, tag_value="team-b/scorer"),
            CurRow(NOV2, 3.0, box),
            CurRow(NOV2, 4.0, box, tag_value="team-a/retired"),  # the team's, but no workload's
        ],
    )
    services.pull(source=export.source, start=NOV2, end=NOV3)
    visible = {
        name: {c.tag_value for c in BilledCost.objects.visible_to(user)}
        for name, user in [
            ("sre-a", make_user("sre-a", role="sre", team=team_a)),
            ("viewer-b", make_user("viewer-b", role="viewer", team=team_b)),
            ("finops", make_user("finops", role="finops")),
        ]
    }
    assert visible == {
        "sre-a": {"team-a/ranker"},
        "viewer-b": {"team-b/scorer"},
        "finops": {"team-a/ranker", "team-b/scorer", "", "team-a/retired"},
    }


def test_the_command_pulls_the_named_source_and_fails_loudly(export):
    export("a.csv.gz", [CurRow(NOV2, 1.25, "USE1-BoxUsage:m5.large")])
    out = StringIO()
    call_command(
        "pull_billing",
        "--source",
        "cur",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-05",
        stdout=out,
    )
    assert out.getvalue() == "cur: 1 cost lines for 2026-11-01..2026-11-05\n"
    (export.folder / "b.snappy.parquet").write_bytes(b"junk")
    with pytest.raises(CommandError, match="pull failed for cur"):
        call_command(
            "pull_billing", "--since", "2026-11-01", "--until", "2026-11-05", stderr=StringIO()
        )
    with pytest.raises(CommandError, match="no billing source"):
        call_command("pull_billing", "--source", "nope")
    with pytest.raises(CommandError, match="not a YYYY-MM-DD"):
        call_command("pull_billing", "--since", "yesterday")
    with pytest.raises(CommandError, match="over 400 days"):
        call_command(
            "pull_billing", "--since", "2024-01-01", "--until", "2026-01-01", stderr=StringIO()
        )


def test_the_daily_task_queues_one_expiring_pull_per_source(db, monkeypatch):
    for name in ("one", "two"):
        BillingSource.objects.create(name=name, kind=BillingSource.Kind.COST_EXPLORER)
    queued = []
    monkeypatch.setattr(
        tasks.pull_billing_source,
        "apply_async",
        lambda args, **options: queued.append((args, options)),
    )
    tasks.pull_all_billing_sources()
    ids = sorted(BillingSource.objects.values_list("pk", flat=True))
    assert sorted(args for args, _ in queued) == [(pk,) for pk in ids]
    assert {options["expires"] for _, options in queued} == {tasks.PULL_EXPIRES_S}


def test_the_daily_pull_rereads_the_restated_days(export, monkeypatch):
    seen = []
    monkeypatch.setattr(services, "pull", lambda **kwargs: seen.append(kwargs))
    services.pull_recent(export.source.pk, today=date(2026, 11, 20))
    assert (seen[0]["start"], seen[0]["end"]) == (date(2026, 11, 13), date(2026, 11, 20))
    assert services.pull_recent(10**9) is None


def test_the_demo_sample_is_pulled_through_the_cur_reader(settings, tmp_path, team_a):
    settings.VAR_DIR = tmp_path
    source = seed_demo_billing(today=date(2026, 12, 7))
    assert source.name == "demo-cur-sample" and source.last_error == ""
    days = set(BilledCost.objects.filter(source=source).values_list("day", flat=True))
    assert min(days) == date(2026, 11, 7) and max(days) == date(2026, 12, 6) and len(days) == 30
    files = sorted(p.name for p in (tmp_path / "billing" / "demo-cur").rglob("*.csv.gz"))
    assert len(files) == 2  # November and December
    again = seed_demo_billing(today=date(2026, 12, 7))
    assert again.pk == source.pk
    assert BilledCost.objects.filter(source=source).count() == 30 * 8


def test_an_aws_refusal_is_recorded_and_writes_nothing(db, fault_server):
    source = BillingSource.objects.create(name="ce", kind=BillingSource.Kind.COST_EXPLORER)
    fault_server.respond(
        400,
        '{"__type": "AccessDeniedException", "message": "not authorized: ce:GetCostAndUsage"}',
        {"Content-Type": "application/x-amz-json-1.1"},
    )
    pulled = services.pull(source=source, start=NOV2, end=NOV3, clients=fault_server.client)
    assert "AccessDeniedException" in pulled.last_error and pulled.last_pulled_at is None
    assert not BilledCost.objects.filter(source=source).exists()
