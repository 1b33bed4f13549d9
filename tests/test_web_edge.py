"""The web edge: sign-in lockout, token lifetime and revocation, the CSP, the demo's secrets.

Also the audit CSV export, whose cells no spreadsheet runs as formulas.
"""

import csv
import io
import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[1]


def sign_in(client, username: str, password: str, path: str = "/accounts/login/"):
    return client.post(path, {"username": username, "password": password})


@pytest.fixture
def sre(make_user, team_a):
    return make_user("sre-a", role="sre", team=team_a)


def test_five_wrong_passwords_lock_the_sign_in_even_for_the_right_one(client, sre):
    for _ in range(4):
        assert sign_in(client, "sre-a", "wrong").status_code == 200  # the form, with its error
    locked = sign_in(client, "sre-a", "wrong")
    assert locked.status_code == 429
    refused = sign_in(client, "sre-a", "x-sre-a")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Sign-in locked" in page and "15 minutes" in page and "sre-a" in page
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_username_and_address(client, sre, make_user, team_a):
    make_user("sre-other", role="sre", team=team_a)
    for _ in range(5):
        sign_in(client, "sre-a", "wrong")
    assert sign_in(client, "sre-other", "x-sre-other").status_code == 302
    elsewhere = client.post(
        "/accounts/login/", {"username": "sre-a", "password": "x-sre-a"}, REMOTE_ADDR="10.9.8.7"
    )
    assert elsewhere.status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, sre):
    for _ in range(5):
        sign_in(client, "sre-a", "wrong")
    assert sign_in(client, "sre-a", "x-sre-a").status_code == 429
    with override_settings(AXES_COOLOFF_TIME=timedelta(seconds=0)):
        assert sign_in(client, "sre-a", "x-sre-a").status_code == 302
    assert client.session["_auth_user_id"] == str(sre.pk)


def test_a_right_password_resets_the_count(client, sre):
    for _ in range(4):
        sign_in(client, "sre-a", "wrong")
    assert sign_in(client, "sre-a", "x-sre-a").status_code == 302
    client.logout()
    for _ in range(4):
        assert sign_in(client, "sre-a", "wrong").status_code == 200
    assert sign_in(client, "sre-a", "x-sre-a").status_code == 302


def test_the_admin_sign_in_is_locked_out_too(client, django_user_model):
    django_user_model.objects.create_superuser("root", password="x-root-password")
    for _ in range(5):
        sign_in(client, "root", "wrong", path="/admin/login/")
    assert sign_in(client, "root", "x-root-password", path="/admin/login/").status_code == 429


def test_tokens_expire_after_the_ttl_by_default(make_user, team_a, settings):
    from knox.models import AuthToken

    assert settings.REST_KNOX["TOKEN_TTL"] == timedelta(days=30)
    user = make_user("ci-a", role="ci", team=team_a)
    out = io.StringIO()
    call_command("create_api_token", "ci-a", stdout=out)
    token = AuthToken.objects.get(user=user)
    assert timedelta(days=29, hours=23) < token.expiry - timezone.now() <= timedelta(days=30)
    call_command("create_api_token", "ci-a", "--days", "2", stdout=out)
    shortest = AuthToken.objects.filter(user=user).order_by("expiry").first()
    assert shortest.expiry - timezone.now() <= timedelta(days=2)


@pytest.mark.parametrize("days, ttl", [("7", "7 days, 0:00:00"), ("0", "None"), ("-1", "")])
def test_the_token_ttl_comes_from_the_environment(days, ttl, tmp_path):
    code = "from controlplane import settings; print(settings.REST_KNOX['TOKEN_TTL'])"
    environment = {"PATH": os.environ["PATH"], "BALLAST_SECRET_KEY": "x"}
    environment |= {"BALLAST_VAR_DIR": str(tmp_path), "BALLAST_TOKEN_TTL_DAYS": days}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    if ttl:
        assert result.stdout.strip() == ttl, result.stderr
    else:
        assert "BALLAST_TOKEN_TTL_DAYS must be >= 0" in result.stderr


def test_an_owner_revokes_their_token(make_user, team_a):
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    user = make_user("ci-a", role="ci", team=team_a)
    _, first = AuthToken.objects.create(user)
    _, second = AuthToken.objects.create(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert client.get("/api/v1/workloads/").status_code == 200
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get("/api/v1/workloads/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert client.get("/api/v1/workloads/").status_code == 200
    assert client.post("/api/v1/auth/logout-all/").status_code == 204
    assert client.get("/api/v1/workloads/").status_code == 401
    assert not AuthToken.objects.filter(user=user).exists()


def test_pages_send_a_csp_with_a_nonce_for_their_own_scripts(client, sre):
    client.force_login(sre)
    response = client.get("/catalog/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    nonce = script_src.split("'nonce-")[1].split("'")[0]
    page = response.content.decode()
    assert page.count("<script") == page.count(f'nonce="{nonce}"') + page.count(
        'type="application/json"'
    )
    assert "Content-Security-Policy" in client.get("/accounts/login/")


def test_the_demo_seed_writes_logins_only_to_a_private_file(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.CELERY_TASK_ALWAYS_EAGER = False
    out = io.StringIO()
    with mock.patch("apps.workloads.services.queue_trace_import"):
        call_command("seed_demo", stdout=out)
    logins = tmp_path / "demo-logins.txt"
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600
    text = logins.read_text()
    assert "login  admin" in text and "Authorization: Token " in text
    printed = out.getvalue()
    assert "password" not in printed and "Token" not in printed
    assert str(logins) in printed


def test_the_audit_export_neutralises_formulas(finops, team_a):
    from apps.plans.models import AuditEvent

    AuditEvent.objects.create(
        actor='=HYPERLINK("http://evil.example/","click")',
        via="api",
        action="plan.rejected",
        team_id=team_a.pk,
        workload_name="@SUM(A1)",
        reason="+1+1",
        comment="-2\tx",
        detail={"note": "=1"},
    )
    AuditEvent.objects.create(
        actor="sre-a", via="api", action="plan.approved", team_id=team_a.pk, comment="\tlead"
    )
    response = finops.get("/api/v1/audit-events/export/")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    first, second = rows
    assert first["actor"] == '\'=HYPERLINK("http://evil.example/","click")'
    assert first["workload_name"] == "'@SUM(A1)"
    assert (first["reason"], first["comment"]) == ("'+1+1", "'-2\tx")
    assert first["detail"] == '{"note": "=1"}'  # JSON starts with "{": left alone
    assert (second["actor"], second["comment"]) == ("sre-a", "'\tlead")
    assert second["team_id"] == str(team_a.pk)
