"""Token scopes restrict: one registry for every write route, checked by one permission."""

import importlib
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from knox.models import AuthToken

from apps.accounts.models import TokenGrant, TokenScope
from apps.accounts.permissions import TokenScopesCover
from apps.accounts.scopes import UNSCOPED_ROUTES, scope_for_route
from conftest import token_client

UNSAFE = {"post", "put", "patch", "delete"}


def api_routes():
    """(url name, view class, unsafe methods) of every route under /api/v1/."""

    def walk(resolver, prefix=""):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry, prefix + str(entry.pattern))
            else:
                yield prefix + str(entry.pattern), entry

    for path, entry in walk(get_resolver()):
        view = getattr(entry.callback, "cls", None)
        if not path.startswith("api/v1/") or view is None:
            continue
        actions = getattr(entry.callback, "actions", None)
        methods = set(actions) if actions else {m for m in UNSAFE if hasattr(view, m)}
        yield entry.name, view, methods & UNSAFE


def test_every_write_route_names_a_scope_and_checks_it():
    writes = [(name, view) for name, view, methods in api_routes() if methods]
    assert len(writes) > 20
    for name, view in writes:
        if name in UNSCOPED_ROUTES:
            continue
        assert scope_for_route(name) is not None, f"{name} has no scope in apps.accounts.scopes"
        checks = view().get_permissions()
        assert any(isinstance(p, TokenScopesCover) for p in checks), f"{view.__name__} skips it"


def test_the_migration_knows_every_scope():
    migration = importlib.import_module("apps.accounts.migrations.0005_token_scopes_restrict")
    assert sorted(migration.ALL) == sorted(TokenScope.values)


@pytest.fixture
def sre_user(make_user, team_a):
    return make_user("sre-metrics", role="sre", team=team_a)


def test_an_sre_token_limited_to_metrics_writes_metrics_and_nothing_else(
    sre_user, online_workload, proposed
):
    metrics_only = token_client(sre_user, scopes=["metrics:write"])
    posted = metrics_only.post(
        f"/api/v1/workloads/{online_workload.pk}/metrics/",
        {"series": "requests", "points": [{"ts": timezone.now().isoformat(), "value": 1.0}]},
        format="json",
    )
    assert posted.status_code == 201, posted.data
    refused = metrics_only.post(f"/api/v1/plans/{proposed.pk}/approve/", {})
    assert refused.status_code == 403
    assert "plans:approve" in str(refused.data)
    renamed = metrics_only.patch(f"/api/v1/workloads/{online_workload.pk}/", {"name": "x"})
    assert renamed.status_code == 403 and "workloads:write" in str(renamed.data)
    # the same SRE through an unrestricted token may approve: the role allows it
    assert token_client(sre_user).post(f"/api/v1/plans/{proposed.pk}/approve/").status_code == 200


def test_a_read_only_token_reads_and_writes_nothing(sre_user, online_workload):
    read_only = token_client(sre_user, scopes=[])
    assert read_only.get(f"/api/v1/workloads/{online_workload.pk}/").status_code == 200
    refused = read_only.delete(f"/api/v1/workloads/{online_workload.pk}/")
    assert refused.status_code == 403 and "read-only" in str(refused.data)


def test_a_scope_never_gives_more_than_the_role(make_user, team_a, online_workload):
    viewer = token_client(make_user("v", role="viewer", team=team_a), scopes=["workloads:write"])
    assert (
        viewer.patch(f"/api/v1/workloads/{online_workload.pk}/", {"name": "x"}).status_code == 403
    )


def test_owners_list_and_revoke_their_tokens_by_id(sre_user, make_user, team_a):
    first = token_client(sre_user)
    second = token_client(sre_user, scopes=["metrics:write"])
    other = token_client(make_user("sre-other", role="sre", team=team_a))
    listed = first.get("/api/v1/auth/tokens/").data
    assert len(listed) == 2
    assert sorted(str(t["scopes"]) for t in listed) == ["None", "['metrics:write']"]
    assert [t["current"] for t in listed].count(True) == 1
    target = next(t["id"] for t in listed if t["scopes"] == ["metrics:write"])
    assert other.delete(f"/api/v1/auth/tokens/{target}/").status_code == 404
    assert first.delete(f"/api/v1/auth/tokens/{target}/").status_code == 204
    assert second.get("/api/v1/workloads/").status_code == 401
    assert len(first.get("/api/v1/auth/tokens/").data) == 1


def test_owners_create_tokens_within_their_roles_and_the_ttl(sre_user, make_user, team_a, settings):
    settings.TOKEN_TTL_DAYS = 30
    sre = token_client(sre_user)
    made = sre.post("/api/v1/auth/tokens/", {"scopes": ["metrics:write"], "days": 7}, format="json")
    assert made.status_code == 201, made.data
    assert made.data["scopes"] == ["metrics:write"]
    assert made.data["expiry"] is not None
    row = AuthToken.objects.get(token_key=made.data["id"])
    assert row.expiry - timezone.now() < timedelta(days=7, minutes=1)
    too_long = sre.post("/api/v1/auth/tokens/", {"scopes": [], "days": 31}, format="json")
    assert too_long.status_code == 400 and "days" in str(too_long.data)
    finops_only = sre.post("/api/v1/auth/tokens/", {"scopes": ["catalog:write"]}, format="json")
    assert finops_only.status_code == 403 and "catalog:write" in str(finops_only.data)

    ci = token_client(make_user("ci-self", role="ci", team=team_a))
    delegated = ci.post("/api/v1/auth/tokens/", {"scopes": ["plans:approve"]}, format="json")
    assert delegated.status_code == 403 and "plans:approve" in str(delegated.data)

    restricted = token_client(sre_user, scopes=["metrics:write"])
    wider = restricted.post("/api/v1/auth/tokens/", {"scopes": ["plans:apply"]}, format="json")
    assert wider.status_code == 403 and "beyond the token" in str(wider.data)


def test_create_api_token_limits_by_scope_or_makes_read_only(sre_user, capsys):
    call_command("create_api_token", sre_user.username, "--scope", "metrics:write")
    call_command("create_api_token", sre_user.username, "--read-only")
    grants = TokenGrant.objects.filter(token__user=sre_user).order_by("created_at")
    assert [g.scopes for g in grants] == [["metrics:write"], []]


def test_old_grants_keep_what_their_tokens_could_do(make_user, team_a):
    from django.apps import apps

    migration = importlib.import_module("apps.accounts.migrations.0005_token_scopes_restrict")
    ci = make_user("old-ci", role="ci", team=team_a)
    sre = make_user("old-sre", role="sre", team=team_a)
    ci_token, _ = AuthToken.objects.create(ci)
    sre_token, _ = AuthToken.objects.create(sre)
    TokenGrant.objects.create(token=ci_token, scopes=["plans:approve"])
    TokenGrant.objects.create(token=sre_token, scopes=["metrics:delete"])
    migration.widen_old_grants(apps, None)
    ci_scopes = set(TokenGrant.objects.get(token=ci_token).scopes)
    assert {"plans:approve", "workloads:write", "metrics:write"} <= ci_scopes
    assert not {"plans:apply", "metrics:delete"} & ci_scopes  # no delegation it was not given
    assert set(TokenGrant.objects.get(token=sre_token).scopes) == set(TokenScope.values)
