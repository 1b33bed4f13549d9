"""The web process loads what it serves: no forecasting model's library, no pandas or scipy.

statsmodels, prophet and torch took 250 MB of each gunicorn worker's 440 MB before its first
request (benchmarks/request_bounds.py), pandas and scipy another 100 MB; only the workers that
read trace files, fit models or solve plans need them (benchmarks/web_start.py measures the
worker's start and memory).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY_LIBRARIES = ("torch", "prophet", "statsmodels", "pandas", "scipy")

# The WSGI application as gunicorn loads it, then the main pages and API through Django's test
# client in the same process, signed in as the demo's admin and its CI token.
SERVE = """
import json, sys
from controlplane.wsgi import application
from django.contrib.auth import get_user_model
from django.test import Client
from knox.models import AuthToken
from apps.workloads.models import Workload

heavy = {heavy!r}
loaded_at_start = sorted(m for m in heavy if m in sys.modules)
workload = Workload.objects.order_by("pk").first()
admin = get_user_model().objects.get(username="admin")
page = Client(HTTP_HOST="localhost")
page.force_login(admin)
api = Client(HTTP_HOST="localhost",
             HTTP_AUTHORIZATION="Token " + AuthToken.objects.create(admin)[1])
pages = ["/", "/overview/", f"/workloads/{{workload.pk}}/", f"/workloads/{{workload.pk}}/plans/",
         "/what-if/", "/catalog/"]
apis = ["/api/v1/workloads/", f"/api/v1/workloads/{{workload.pk}}/", "/api/v1/plans/",
        "/api/v1/forecast-runs/", "/api/v1/instance-types/", "/api/schema/"]
statuses = {{p: page.get(p).status_code for p in pages}}
statuses |= {{p: api.get(p).status_code for p in apis}}
print(json.dumps({{"start": loaded_at_start, "statuses": statuses,
                  "served": sorted(m for m in heavy if m in sys.modules)}}))
"""


def run(args: list[str], env: dict[str, str]) -> str:
    """The output of `python args` in the repository root; fails the test on a non-zero exit."""
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def web_env(var: Path) -> dict[str, str]:
    """A demo-like environment of its own: SQLite and the filesystem broker under `var`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    return env | {
        "BALLAST_VAR_DIR": str(var),
        "BALLAST_SECRET_KEY": "web-process-test",
        "BALLAST_STATIC_HASHED": "false",
        "DJANGO_SETTINGS_MODULE": "controlplane.settings",
    }


def test_the_wsgi_application_loads_no_heavy_library(tmp_path):
    probe = (
        "import sys\n"
        "from controlplane.wsgi import application\n"
        f"print(sorted(m for m in {HEAVY_LIBRARIES!r} if m in sys.modules))\n"
    )

    out = run(["-c", probe], web_env(tmp_path))

    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_serving_the_main_pages_and_api_loads_no_heavy_library(tmp_path):
    env = web_env(tmp_path)
    run(["manage.py", "migrate", "--noinput", "-v0"], env)
    run(["manage.py", "seed_demo"], env)  # workloads with metrics, users, the catalog

    out = json.loads(run(["-c", SERVE.format(heavy=HEAVY_LIBRARIES)], env).splitlines()[-1])

    assert set(out["statuses"].values()) == {200}, out["statuses"]
    assert out["start"] == []
    assert out["served"] == []
