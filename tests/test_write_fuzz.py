"""A seeded fuzz of every write endpoint: no server error, and a refused write leaves no trace.

Every POST, PUT, PATCH and DELETE of the OpenAPI schema gets Schemathesis's generated requests,
valid and invalid (its positive and negative modes), derandomized so that a run is the same on
every machine. Requests go to the real rows of a team (a workload with its SLA, variant, target,
guardrail, metric source, plan schedule, webhook, a built plan) through the WSGI application,
as an SRE of that team who is also FinOps staff, so most of them reach the code behind the
checks. After each one:

- no status 500 or above;
- a refusal (4xx) changed no row of any Ballast table, except the audit trail's record of the
  refusal itself: the whole database is compared before and after.

Deleting operations run last, so that the others meet the rows they name.
"""

import pytest
import schemathesis
from django.apps import apps as django_apps
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from conftest import token_client

WRITES = ("POST", "PUT", "PATCH", "DELETE")
EXAMPLES = 8  # per operation and mode: 57 operations x 2 modes x 8 in about a minute
# Rows a refusal may add: the audit trail's record of refused attempts (`refused`, and
# `refused.throttled` past its bound). Sign-in lockouts and sessions are not Ballast's data.
REFUSAL_TRAIL = "refused%"
THIRD_PARTY = {"axes", "sessions", "admin", "contenttypes", "django_celery_results"}


def database_fingerprint() -> dict[str, str]:
    """A digest of every row of every table Ballast writes, by model, computed by PostgreSQL."""
    parts = []
    for model in django_apps.get_models():
        if model._meta.app_label in THIRD_PARTY:
            continue
        table, pk = model._meta.db_table, model._meta.pk.column
        where = ""
        if model._meta.label == "plans.AuditEvent":
            where = f"WHERE action NOT LIKE '{REFUSAL_TRAIL}'"
        parts.append(
            f"SELECT '{model._meta.label}', md5(coalesce(string_agg(t::text, '|' ORDER BY "
            f't."{pk}"), \'\')) FROM "{table}" t {where}'
        )
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return dict(cursor.fetchall())


@pytest.fixture
def team_rows(proposed, online_workload, team_a, fuzzer, make_user):
    """One row of each kind the write endpoints name, all team A's (or the fuzzer's), by path."""
    from knox.models import AuthToken

    from apps.catalog.models import InstanceType, Provider, Region
    from apps.plans import guardrail_changes
    from apps.plans.models import Guardrail, PlanSchedule
    from apps.webhooks.models import Webhook
    from apps.workloads.models import MetricSource

    variant = online_workload.variants.get()
    guardrail = Guardrail.objects.create(workload=online_workload, min_replicas=1)
    # A lower minimum loosens the guardrail: a change pending for a second person.
    _, pending = guardrail_changes.change_guardrail(
        team=None,
        workload=online_workload,
        values=guardrail_changes.values_of(guardrail) | {"min_replicas": 0},
        by=make_user("other-sre", role="sre", team=team_a),
        via="api",
    )
    spare_token, _ = AuthToken.objects.create(fuzzer, expiry=None)
    return {
        "guardrail-changes": pending.pk,
        "auth": spare_token.token_key,
        "providers": Provider.objects.first().pk,
        "regions": Region.objects.first().pk,
        "instance-types": InstanceType.objects.first().pk,
        "workloads": online_workload.pk,
        "slas": online_workload.sla.pk,
        "model-variants": variant.pk,
        "deployment-targets": online_workload.targets.get().pk,
        "plans": proposed.pk,
        "guardrails": guardrail.pk,
        "plan-schedules": PlanSchedule.objects.create(
            workload=online_workload, requested_by=proposed.requested_by
        ).pk,
        "metric-sources": MetricSource.objects.create(
            workload=online_workload,
            series="requests",
            base_url="https://prometheus.example.com",
            promql="sum(rate(http_requests_total[1m]))",
        ).pk,
        "webhooks": Webhook.objects.create(
            team=team_a, url="https://hooks.example.com/ballast", events=["plan.proposed"]
        ).pk,
    }


@pytest.fixture
def fuzzer(make_user, team_a):
    """An SRE of team A who is also FinOps staff: most writes get past the role checks."""
    from django.contrib.auth.models import Group

    from apps.accounts.models import FINOPS_GROUP

    user = make_user("fuzzer", role="sre", team=team_a)
    user.groups.add(Group.objects.get_or_create(name=FINOPS_GROUP)[0])
    return user


@pytest.fixture
def auth_header(fuzzer):
    client = token_client(fuzzer)
    return {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}


@pytest.fixture
def api_schema(auth_header, team_rows):
    # As Django's test client does: a request must not close the test's transaction. After the
    # rows are made: the test client, which builds the plan, connects the signal again.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), headers=auth_header
    )
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def write_operations(api_schema):
    """The schema's write operations, deleting and token-revoking ones last."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    writes = [op for op in operations if op.method.upper() in WRITES]
    return sorted(
        writes,
        key=lambda op: (op.path.startswith("/api/v1/auth/"), op.method.upper() == "DELETE"),
    )


def test_no_write_fails_or_leaves_a_partial_write(api_schema, auth_header, team_rows):
    operations = write_operations(api_schema)
    assert len(operations) >= 50, [op.label for op in operations]
    failures = {}
    for operation in operations:
        prefix = operation.path.removeprefix("/api/v1/").split("/")[0]
        pinned = None
        if "{id}" in operation.path:
            if prefix not in team_rows:
                failures[operation.label] = f"no row named for {prefix}: add one to team_rows"
                continue
            pinned = {"id": team_rows[prefix]}
        for mode in GenerationMode:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=pinned)

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],  # writes change state: no replays
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case):
                before = database_fingerprint()
                response = case.call(headers=auth_header)
                assert response.status_code < 500, (response.status_code, response.text[:500])
                if 400 <= response.status_code < 500:
                    changed = [
                        label
                        for label, digest in database_fingerprint().items()
                        if before.get(label) != digest
                    ]
                    assert not changed, f"{response.status_code} but changed {changed}"

            try:
                fuzz()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # no body nor parameter to spoil
            except Exception as exc:  # keep going: report every failing operation at once
                # A write changes state, so Hypothesis's replay may pass: report the first call.
                first = getattr(exc, "exceptions", [exc])[0]
                failures[f"{operation.label} ({mode.value})"] = str(first)[:1500]
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
