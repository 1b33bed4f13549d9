"""The web process: gunicorn's start to ready, and one worker's memory, before and after a change.

Run from the repository root (PostgreSQL and Redis binaries as for the tests):

    .venv/bin/python -m benchmarks.web_start [--before REV ...] [--runs N]

It starts PostgreSQL and Redis on free loopback ports (tests/servers.py) and checks REV (by
default BEFORE, the commit before the web process stopped loading pandas and scipy) out with
`git worktree` in a temporary folder. Each tree, this working tree ("after") and each REV, gets a
database of its own, migrated and seeded with the demo (`seed_demo`) by its own code, and is
served with this virtual environment's gunicorn as the image runs it, one sync worker. RUNS
times, the trees taking turns, it starts gunicorn and measures:

- ready: seconds from starting gunicorn until `/readyz` answers 200 (the worker has set Django
  up and reached PostgreSQL and Redis), then until the sign-in page answers 200 (a real page: the
  URLconf, and with it every view, loads on the first request Django routes);
- memory: the worker's VmRSS (/proc/PID/status) after it has signed the demo's admin in and
  served the overview, a workload's page and plans, the what-if page and the API's workload list,
  and which of torch, prophet, statsmodels, pandas and scipy its memory maps hold.

It replaces the "Web process" section of docs/benchmarks/scale.md with the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from benchmarks.scale import OUTPUT, commit
from benchmarks.servers import this_run
from tests.servers import free_port, start_servers

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ".venv/bin/python -m benchmarks.web_start"
BEFORE = "5a2e591"  # main before the web process stopped loading pandas and scipy (#27)
RUNS = 5
HEADING = "## Web process"
LIBRARIES = ("torch", "prophet", "statsmodels", "pandas", "scipy")
TARGET_MB = 150
TARGET_S = 2.0


@dataclass
class Start:
    """One gunicorn start."""

    readyz_s: float
    page_s: float
    rss_mb: float
    libraries: tuple[str, ...]


@dataclass
class Tree:
    """A checkout of Ballast to serve, with its database and var folder."""

    label: str
    path: Path
    env: dict[str, str]
    pages: list[str]


def main() -> int:
    """Prepare every tree, start each RUNS times in turn, write the section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", action="append", help=f"commits to compare (default {BEFORE})")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    revisions = args.before or [BEFORE]
    load_before = os.getloadavg()
    servers = start_servers()
    try:
        with contextlib.ExitStack() as stack:
            trees = [prepare(servers, f"after ({commit()})", ROOT, "after")]
            for rev in revisions:
                path = stack.enter_context(worktree(rev))
                trees.append(prepare(servers, f"before ({rev})", path, rev))
            starts: dict[str, list[Start]] = {tree.label: [] for tree in trees}
            for run in range(args.runs):
                for tree in trees:
                    start = measure(tree)
                    starts[tree.label].append(start)
                    print(tree.label, run, start, flush=True)
    finally:
        servers.stop()
    write_section(section(starts, load_before, os.getloadavg()))
    print(OUTPUT.read_text())
    return 0


@contextlib.contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """`rev` checked out (detached) in a temporary folder, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="ballast-web-before-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=ROOT, check=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=True)
        shutil.rmtree(path.parent, ignore_errors=True)


def prepare(servers, label: str, path: Path, name: str) -> Tree:
    """A database of the tree's own, migrated and seeded with the demo by the tree's code."""
    database = "web_" + re.sub(r"\W", "_", name.split()[0].lower())
    with psycopg.connect(servers.database_url.rsplit("/", 1)[0] + "/postgres") as admin:
        admin.autocommit = True
        admin.execute(f"CREATE DATABASE {database}")
    var = Path(tempfile.mkdtemp(prefix="ballast-web-var-"))
    env = os.environ | {
        "DATABASE_URL": servers.database_url.rsplit("/", 1)[0] + "/" + database,
        "CELERY_BROKER_URL": servers.broker_url,
        "BALLAST_SECRET_KEY": "benchmark-only",
        "BALLAST_VAR_DIR": str(var),
        "BALLAST_STATIC_HASHED": "false",
        "DJANGO_SETTINGS_MODULE": "controlplane.settings",
    }
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=path,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return Tree(label, path, env, pages(path, env))


def measure(tree: Tree) -> Start:
    """Start gunicorn on the tree, time it to ready, serve pages, read the worker's memory."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(Path(tree.env["BALLAST_VAR_DIR"]) / "gunicorn.log", "a")  # noqa: SIM115
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "controlplane.wsgi", f"--bind=127.0.0.1:{port}"]
        + ["--workers=1", "--worker-tmp-dir=/dev/shm"],
        cwd=tree.path,
        env=tree.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        wait_for_200(opener, url + "/readyz", server)
        readyz_s = time.monotonic() - started
        login_page = get(opener, url + "/accounts/login/")
        page_s = time.monotonic() - started
        sign_in(opener, url, login_page, tree.env["BALLAST_VAR_DIR"])
        for path in tree.pages:
            get(opener, url + path)
        worker = worker_pid(server.pid)
        return Start(readyz_s, page_s, rss_mb(worker), mapped_libraries(worker))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def wait_for_200(opener, url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    """Poll `url` every 10 ms until it answers 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited: see gunicorn.log in the tree's var folder")
        with contextlib.suppress(OSError):  # refused while binding, 503 until ready
            with opener.open(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        time.sleep(0.01)
    raise TimeoutError(f"{url} did not answer 200 in {seconds} s")


def get(opener, url: str, data: bytes | None = None) -> str:
    """The body of a 200 answer to GET (or POST `data` to) `url`."""
    with opener.open(url, data=data, timeout=60) as answer:
        if answer.status != 200:
            raise RuntimeError(f"{url}: {answer.status}")
        return answer.read().decode()


def sign_in(opener, url: str, login_page: str, var: str) -> None:
    """Sign the demo's admin in through the sign-in form (the password from demo-logins.txt)."""
    logins = (Path(var) / "demo-logins.txt").read_text()
    password = re.search(r"login\s+admin\s+password\s+(\S+)", logins)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page)
    if not password or not token:
        raise RuntimeError("no admin password in demo-logins.txt or no CSRF token on the page")
    form = {"username": "admin", "password": password[1], "csrfmiddlewaretoken": token[1]}
    home = get(opener, url + "/accounts/login/", urllib.parse.urlencode(form).encode())
    if 'name="password"' in home:
        raise RuntimeError("signing in failed")


def pages(path: Path, env: dict[str, str]) -> list[str]:
    """The overview, the first workload's page and plans, the what-if page, the API's list."""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c"]
        + ["from apps.workloads.models import Workload; print(Workload.objects.first().pk)"],
        cwd=path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    workload = out.stdout.split()[-1]
    return [
        "/overview/",
        f"/workloads/{workload}/",
        f"/workloads/{workload}/plans/",
        "/what-if/",
        "/api/v1/workloads/",
    ]


def worker_pid(master: int) -> int:
    """The pid of gunicorn's one worker, the master's child."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def rss_mb(pid: int) -> float:
    """VmRSS of `pid` in MB (10^6 bytes)."""
    status = Path(f"/proc/{pid}/status").read_text()
    kib = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert kib is not None
    return int(kib[1]) * 1024 / 1e6


def mapped_libraries(pid: int) -> tuple[str, ...]:
    """Which of LIBRARIES have a file of their package mapped into `pid`'s memory."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return tuple(lib for lib in LIBRARIES if f"/site-packages/{lib}/" in maps)


def write_section(lines: list[str]) -> None:
    """docs/benchmarks/scale.md with `lines` as its last section, in place of the old one."""
    old = OUTPUT.read_text() if OUTPUT.exists() else ""
    head = old[: old.index(HEADING)] if HEADING in old else old.rstrip("\n") + "\n\n"
    OUTPUT.write_text(head + "\n".join(lines))


def section(
    starts: dict[str, list[Start]],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> list[str]:
    """The "Web process" section: method, one row per tree, the targets checked."""
    lines = [
        HEADING,
        "",
        this_run(COMMAND),
        f"`--before REV` compares another commit (by default {BEFORE}). Load average (1, 5, 15 "
        f"min) when it started: {', '.join(f'{v:.2f}' for v in load_before)}; when it ended: "
        f"{', '.join(f'{v:.2f}' for v in load_after)}.",
        "",
        "gunicorn with one sync worker, as the image starts it (`controlplane.wsgi`, "
        "`--worker-tmp-dir=/dev/shm`), on PostgreSQL and Redis, each tree on a database of its "
        "own that its code migrated and seeded with the demo. Ready: from starting gunicorn "
        "until `/readyz` answers 200, then until the sign-in page does (the first page Django "
        "routes loads the URLconf and every view). Memory: the worker's VmRSS after signing in "
        "and serving the overview, a workload's page and plans, the what-if page and "
        "`/api/v1/workloads/`; libraries: which of "
        f"{', '.join(LIBRARIES)} have files mapped into the worker. "
        f"{len(next(iter(starts.values())))} starts per tree, taking turns; medians. "
        "(torch, prophet and statsmodels have loaded on a model's first build since 7b82b17, "
        "#24; the commit before it held 440 MB idle.)",
        "",
        "| tree | /readyz 200 (s, runs) | first page 200 (s, runs) | median "
        "| worker RSS (MB, runs) | median | libraries loaded |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, runs in starts.items():
        page = statistics.median(r.page_s for r in runs)
        rss = statistics.median(r.rss_mb for r in runs)
        libraries = ", ".join(sorted({lib for r in runs for lib in r.libraries})) or "none"
        lines.append(
            f"| {label} | {', '.join(f'{r.readyz_s:.2f}' for r in runs)} | "
            f"{', '.join(f'{r.page_s:.2f}' for r in runs)} | **{page:.2f}** | "
            f"{', '.join(f'{r.rss_mb:.0f}' for r in runs)} | **{rss:.0f}** | {libraries} |"
        )
    after = next(iter(starts.values()))
    page = statistics.median(r.page_s for r in after)
    rss = statistics.median(r.rss_mb for r in after)
    lines += [
        "",
        f"Targets: a worker under {TARGET_MB} MB: **{'met' if rss < TARGET_MB else 'not met'}** "
        f"({rss:.0f} MB); ready in under {TARGET_S:.0f} s: "
        f"**{'met' if page < TARGET_S else 'not met'}** ({page:.2f} s to the first page).",
        "",
    ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
