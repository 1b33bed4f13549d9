"""Schemathesis's default run against /api/schema/: no operation answers with a server error.

Every operation of the schema gets Schemathesis's generated requests (Hypothesis's default
number of examples) through the WSGI application, authenticated as an SRE of a team that has a
workload who is also FinOps staff, so most requests get past authentication and reach the code.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from conftest import token_client


@pytest.fixture
def auth_header(db, make_user, team_a):
    from apps.workloads.tests.factories import WorkloadFactory

    WorkloadFactory(team=team_a, name="fuzzed")
    user = make_user("fuzzer", role="sre", team=team_a)
    from django.contrib.auth.models import Group

    from apps.accounts.models import FINOPS_GROUP

    user.groups.add(Group.objects.get_or_create(name=FINOPS_GROUP)[0])
    client = token_client(user)
    return {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}


@pytest.fixture
def api_schema(auth_header):
    # As Django's test client does: a request must not close the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), headers=auth_header
    )
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_no_operation_answers_with_a_server_error(api_schema, auth_header):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40
    # Revoking the token (/api/v1/auth/logout/, logout-all/) goes last: after it every request
    # would stop at authentication.
    operations.sort(key=lambda operation: operation.path.startswith("/api/v1/auth/"))

    failures = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            case.call_and_validate(headers=auth_header, checks=[not_a_server_error])

        try:
            no_server_error()
        except Exception as exc:  # keep going: report every failing operation at once
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
