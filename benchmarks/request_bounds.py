"""Does any request under 1 MB take more than 1 s or 200 MB in the web process?

Run from the repository root (PostgreSQL and Redis binaries as for the tests):

    .venv/bin/python -m benchmarks.request_bounds [--only TEXT]

It starts PostgreSQL and Redis on free loopback ports (tests/servers.py), migrates a fresh
database, imports the shipped catalog, seeds a team and a workload with 30 days of per-minute
history (benchmarks/request_cases.py), then starts the web process as production runs it:
gunicorn, one sync worker, `BALLAST_SETTINGS_PROFILE=production` behind an HTTPS proxy (each
request says `X-Forwarded-Proto: https`). Every write operation of the OpenAPI schema, every
list, the page forms and the costliest bodies known for each endpoint are sent RUNS times each,
one at a time, with an API token (pages: a session and its CSRF token). No Celery worker runs.

For each request it measures the wall time (sending to the last byte of the answer) and the
worker's peak resident memory: the kernel's high-water mark (VmHWM in /proc/PID/status), reset
before the request by writing 5 to /proc/PID/clear_refs, so every page touched counts, not a
sample of them. The rise is that peak less the RSS just before the request. `--only TEXT`
sends only the cases whose endpoint or body contains TEXT, leaving the document as it is;
every row is printed as it is measured.

It writes docs/benchmarks/request-bounds.md.
"""

from __future__ import annotations

import http.client
import os
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.request_cases import CSRF, Case, Seeded, api_cases, seed
from benchmarks.servers import django_on_servers, this_run
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "request-bounds.md"
COMMAND = ".venv/bin/python -m benchmarks.request_bounds"
RUNS = 5
BOUND_S = 1.0
BOUND_MB = 200.0


@dataclass
class Run:
    """One request's outcome."""

    status: int
    seconds: float
    rise_mb: float
    peak_mb: float


def main() -> int:
    """Start the servers and gunicorn, send every case RUNS times, write the document."""
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    os.environ["BALLAST_SECRET_KEY"] = secrets.token_urlsafe(48)  # production wants 50+ chars
    with django_on_servers("ballast-request-bounds-") as var:
        seeded = seed()
        with gunicorn(var) as web:
            spec = web.schema()
            cases = [
                c for c in api_cases(spec, seeded) if not only or only in c.endpoint + c.body_label
            ]
            load_before = os.getloadavg()
            results = []
            for case in cases:
                results.append((case, [web.send(case, seeded) for _ in range(RUNS)]))
                print(table(results[-1:])[0], flush=True)
            load_after = os.getloadavg()
    if not only:
        write_document(table(results), results, load_before, load_after)
    return 0


class Web:
    """The gunicorn master, and requests to its one worker."""

    def __init__(self, master: subprocess.Popen, port: int) -> None:
        self.master, self.port = master, port

    def worker_pid(self) -> int:
        """The worker's pid (waiting for one, as after a worker was killed)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            path = Path(f"/proc/{self.master.pid}/task/{self.master.pid}/children")
            children = path.read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.1)
        raise RuntimeError("gunicorn has no worker")

    def request(self, method: str, path: str, body: bytes, headers: dict) -> int:
        """Send one request and read the whole answer; its status."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            connection.request(method, path, body=body, headers={"Host": "localhost"} | headers)
            response = connection.getresponse()
            response.read()
            return response.status
        except (ConnectionError, http.client.HTTPException):
            return 0  # the worker died under the request
        finally:
            connection.close()

    def schema(self) -> dict:
        """The OpenAPI document the server serves (GET /api/schema/?format=json)."""
        import json

        from django.contrib.auth import get_user_model
        from knox.models import AuthToken

        token = AuthToken.objects.create(get_user_model().objects.get(username="bench-sre"))[1]
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Host": "localhost", "X-Forwarded-Proto": "https"}
        connection.request(
            "GET", "/api/schema/?format=json", headers=headers | {"Authorization": f"Token {token}"}
        )
        return json.loads(connection.getresponse().read())

    def send(self, case: Case, seeded: Seeded) -> Run:
        """Send `case` once, measuring its time and the worker's peak memory."""
        if case.prepare:
            case.prepare(case)
        headers = {"X-Forwarded-Proto": "https"}
        if case.session:
            headers |= {
                "Cookie": f"sessionid={seeded.session}; csrftoken={CSRF}",
                "Origin": "https://localhost",
            }
        else:
            headers["Authorization"] = f"Token {case.token or seeded.token}"
        if case.body or case.method != "GET":
            headers |= {"Content-Type": case.content_type or "application/json"}
        pid = self.worker_pid()
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from now
        before = kilobytes(pid, "VmRSS")
        started = time.perf_counter()
        status = self.request(case.method, case.path, case.body, headers)
        seconds = time.perf_counter() - started
        try:
            peak = kilobytes(pid, "VmHWM")
        except FileNotFoundError:  # killed: gunicorn's timeout, or the kernel's OOM killer
            return Run(status, seconds, float("inf"), float("inf"))
        return Run(status, seconds, (peak - before) / 1024, peak / 1024)


def kilobytes(pid: int, key: str) -> int:
    """A `kB` line of /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


class gunicorn:  # noqa: N801 - used as `with gunicorn(var) as web`
    """gunicorn as the image runs it (docker/Dockerfile), one worker, the production profile."""

    def __init__(self, var: str) -> None:
        self.var = var

    def __enter__(self) -> Web:
        port = free_port()
        env = os.environ | {
            "BALLAST_SETTINGS_PROFILE": "production",
            "BALLAST_LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": "1",
        }
        self.log = open(Path(self.var) / "gunicorn.log", "w")
        self.master = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "controlplane.wsgi", f"--bind=127.0.0.1:{port}"]
            + ["--worker-tmp-dir=/dev/shm", "--error-logfile=-"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        web = Web(self.master, port)
        deadline = time.monotonic() + 60
        while web.request("GET", "/healthz", b"", {}) != 200:
            if self.master.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((Path(self.var) / "gunicorn.log").read_text())
            time.sleep(0.2)
        return web

    def __exit__(self, *exc) -> None:
        self.master.terminate()
        self.master.wait(timeout=30)
        self.log.close()


def table(results: list[tuple[Case, list[Run]]]) -> list[str]:
    """One Markdown row per case."""
    rows = []
    for case, runs in results:
        times = [r.seconds for r in runs]
        rise = max(r.rise_mb for r in runs)
        within = max(times) <= BOUND_S and rise <= BOUND_MB
        statuses = "/".join(sorted({str(r.status) for r in runs}))
        rows.append(
            f"| `{case.endpoint}` | {case.body_label} | {len(case.body):,} | {statuses} | "
            f"{statistics.median(times):.3f} | {max(times):.3f} | {rise:.1f} | "
            f"{max(r.peak_mb for r in runs):.0f} | {'yes' if within else '**no**'} |"
        )
    return rows


def write_document(rows, results, load_before, load_after) -> None:
    """docs/benchmarks/request-bounds.md from the measured runs."""
    runs = [r for _, rs in results for r in rs]
    worst_s = max(statistics.median([r.seconds for r in rs]) for _, rs in results)
    slowest = max(r.seconds for r in runs)
    worst_mb = max(r.rise_mb for r in runs)
    broken = sum("**no**" in row for row in rows)
    errors = sum(r.status >= 500 or r.status == 0 for r in runs)
    lines = [
        "# Request bounds: time and memory of the web process",
        "",
        this_run(COMMAND),
        "",
        "Target (issue #24): no request under 1 MB takes more than 1 s or 200 MB in the web "
        "process.",
        "",
        "## Method",
        "",
        "- The web process as production runs it: gunicorn (sync worker, its defaults as in "
        "docker/Dockerfile), one worker, `BALLAST_SETTINGS_PROFILE=production` behind an HTTPS "
        "proxy (`X-Forwarded-Proto: https`), PostgreSQL and Redis on this machine; no Celery "
        "worker, so queued tasks wait in Redis and cost the web process only the enqueue.",
        "- Seeded: the shipped catalog; one team whose SRE (also FinOps) owns an online workload "
        "with 30 days of per-minute requests (43,200 points), its SLA, variant and target, a "
        "guardrail, a plan schedule, a metric source, a webhook, a draft plan and a queued "
        "forecast. Requests carry that SRE's API token (`Authorization: Token`); page forms "
        "carry a session and its CSRF token.",
        "- Sent: for every write operation of `/api/schema/?format=json`, 1 MB of nesting in a "
        "field, 80k unknown keys, one key repeated to 1 MB, every field at its largest (strings "
        "sharing 1 MB, 4,000-digit integers, 4,000-digit numbers, 20k-item arrays), 1 MB of "
        "random bytes, and a form of 100k fields (body-less actions: none, and random bytes); "
        "then the costliest body each endpoint is known for (metric batches of one-second "
        "points, traces dated at the 1970 and 2100 edges, long digit strings, extreme horizons "
        "and seeds, a 1 MB optimization problem, 990 KB reasons); three query strings on every "
        "list (`limit=1000`, every filter in 4 KB of query, `offset=2^63-1`); the page forms "
        "(sign-in, what-if upload, a plan's request and approval). Every body is under "
        "1,000,000 bytes but one row, the documented largest metric batch "
        "(`BALLAST_MAX_POINTS_PER_REQUEST`, 50,000 points), which is 2 MB.",
        f"- Each request {RUNS} times, one at a time; the table gives the median and largest "
        "wall time (sending to the last byte of the answer) and, over the runs, the largest "
        "rise of the worker's resident memory: the kernel's high-water mark (VmHWM), reset "
        "before each request through /proc/PID/clear_refs, less the RSS just before it; and the "
        "largest high-water mark itself. The bound is held by the largest time and rise. "
        "Deletions and token revocations go last (a second run finds nothing to delete; a "
        "revocation gets a fresh token each run).",
        f"- Load average (1, 5, 15 min) before: {fmt_load(load_before)}; after: "
        f"{fmt_load(load_after)}. The machine has {os.cpu_count()} cores, shared with other "
        "engineers' test runs while this ran; medians are the figures to compare.",
        "",
        "## Results",
        "",
        f"{len(results)} requests, {len(runs)} runs: the slowest median {worst_s:.3f} s, the "
        f"slowest run {slowest:.3f} s, the largest rise {worst_mb:.1f} MB; {broken} outside "
        f"the bound of {BOUND_S:.0f} s and {BOUND_MB:.0f} MB; {errors} runs answered 5xx or "
        "not at all.",
        "",
        "| endpoint | body | bytes | status | median s | max s | rise MB (max) | "
        "peak RSS MB | within |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text("\n".join(lines) + "\n")


def fmt_load(load: tuple[float, float, float]) -> str:
    """1.23 / 1.10 / 0.98."""
    return " / ".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    raise SystemExit(main())
