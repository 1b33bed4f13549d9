"""`make demo` on the embedded defaults: SQLite, filesystem broker, real worker, gunicorn."""

import json
import os
import re
import signal
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post(url: str, data: dict, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST")
    request.add_header("Authorization", f"Token {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def demo(tmp_path):
    """Run scripts/demo.sh with no DATABASE_URL or CELERY_BROKER_URL, in its own folder."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "BALLAST_SECRET_KEY")
    }
    env |= {"BALLAST_VAR_DIR": str(tmp_path / "var"), "BALLAST_PORT": str(port)}
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        ["scripts/demo.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if get(f"{base}/accounts/login/")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((tmp_path / "demo.log").read_text())
        time.sleep(0.5)
    yield base, tmp_path / "var"
    os.killpg(process.pid, signal.SIGTERM)
    # A warm shutdown lets the worker finish its task (a trace import takes seconds, more on
    # a loaded machine) before it exits.
    process.wait(timeout=120)
    log.close()


@pytest.mark.integration
def test_demo_serves_pages_api_and_imports_sample_traces_on_sqlite(demo):
    base, var = demo
    assert (var / "ballast.sqlite3").exists()
    assert get(f"{base}/api/docs/")[0] == 200
    assert get(f"{base}/admin/login/")[0] == 200
    assert get(f"{base}/")[0] == 200  # the login page, after a redirect
    token = re.search(r"Authorization: Token (\S+)", (var / "demo-logins.txt").read_text())[1]
    # The secrets are the owner's alone, and the seed log (like any log) holds none of them.
    for name in ("demo-logins.txt", "demo-seed.log", "demo.env"):
        assert stat.S_IMODE((var / name).stat().st_mode) == 0o600, name
    seed_log = (var / "demo-seed.log").read_text()
    assert "demo-logins.txt" in seed_log and token not in seed_log and "password" not in seed_log
    # /metrics is closed but to the token the demo generated.
    metrics_token = re.search(
        r"^BALLAST_METRICS_TOKEN=(\S+)$", (var / "demo.env").read_text(), re.M
    )
    assert get(f"{base}/metrics")[0] == 401
    scrape = urllib.request.Request(f"{base}/metrics")
    scrape.add_header("Authorization", f"Bearer {metrics_token[1]}")
    with urllib.request.urlopen(scrape, timeout=10) as response:
        assert response.status == 200 and b"ballast_plans" in response.read()

    status, body = get(f"{base}/api/v1/workloads/", token)
    assert status == 200
    assert {w["name"] for w in json.loads(body)["results"]} == {"ranker", "embedding-refresh"}

    deadline = time.monotonic() + 120
    while True:
        imports = json.loads(get(f"{base}/api/v1/trace-imports/", token)[1])["results"]
        if imports and imports[0]["status"] not in ("queued", "running"):
            break
        assert time.monotonic() < deadline, imports
        time.sleep(1)
    assert imports[0]["status"] == "succeeded", imports[0]["message"]
    assert imports[0]["rows_imported"] == 39692

    # A plan on the imported history: its replays fan out and join through the result backend
    # in the same SQLite database (a chord needs no other server).
    ranker = next(w for w in json.loads(body)["results"] if w["name"] == "ranker")
    status, created = post(f"{base}/api/v1/plans/", {"workload": ranker["id"]}, token)
    assert status == 202, created
    plan_url = f"{base}/api/v1/plans/{json.loads(created)['id']}/"
    deadline = time.monotonic() + 240
    while (plan := json.loads(get(plan_url, token)[1]))["status"] == "draft":
        assert time.monotonic() < deadline, plan
        time.sleep(1)
    assert plan["status"] == "proposed", plan["message"]
    assert all(candidate["measured"] for candidate in plan["front"])
