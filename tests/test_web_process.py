"""The web process loads what it serves: no forecasting model's library at start.

statsmodels, prophet and torch took 250 MB of each gunicorn worker's 440 MB before its first
request (benchmarks/request_bounds.py); only the workers that fit models need them.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_LIBRARIES = ("torch", "prophet", "statsmodels")


def test_the_wsgi_application_loads_no_forecasting_model_library(tmp_path):
    probe = (
        "import sys\n"
        "from controlplane.wsgi import application\n"
        f"print(sorted(m for m in {MODEL_LIBRARIES!r} if m in sys.modules))\n"
    )
    env = os.environ | {"BALLAST_VAR_DIR": str(tmp_path)}

    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
