"""Every dashboard page's server time and first chart drawn, on a month of per-minute history.

Run from the repository root (Chromium found as for the browser tests, tests/programs.py):

    .venv/bin/python -m benchmarks.pages            # --reuse: measure the last run's database

It fills a fresh SQLite database in var/bench-pages (benchmarks/page_data.py: the demo plus 20
workloads of 30 days of per-minute requests), collects the static files as `make demo` does, and
measures:

- server time: each page's request through the whole Django stack (middleware, sessions, the
  view, the template) with Django's test client, REQUESTS times after one warm-up; the
  median, min and max, and the SQL queries one request runs;
- first chart drawn: gunicorn serves the same database and headless Chromium loads each page
  with a chart LOADS times, each in a fresh browser context (nothing cached), from navigation
  start to the first figure's `Plotly.newPlot` resolved and the next frame painted.

It writes docs/benchmarks/pages.md. Nothing in the document is typed by hand.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.programs import chromium

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var" / "bench-pages"
OUTPUT = ROOT / "docs" / "benchmarks" / "pages.md"
COMMAND = ".venv/bin/python -m benchmarks.pages"
REQUESTS = 7
LOADS = 5
SERVER_TARGET_MS = 300.0
CHART_TARGET_MS = 1500.0
# Wraps window.Plotly.newPlot as plotly.js defines it: the first promise resolved, then the
# next frame, stamps the time since navigation start (performance.now()'s origin).
FIRST_CHART = """
(() => {
  let plotly;
  Object.defineProperty(window, "Plotly", {
    configurable: true,
    get() { return plotly; },
    set(value) {
      const newPlot = value.newPlot;
      value.newPlot = function () {
        return newPlot.apply(this, arguments).then((div) => {
          requestAnimationFrame(() => {
            if (window.__firstChartMs === undefined) window.__firstChartMs = performance.now();
          });
          return div;
        });
      };
      plotly = value;
    },
  });
})();
"""


MILESTONES = """() => {
  const plotly = performance.getEntriesByType("resource").find((e) => e.name.includes("plotly"));
  return {
    html: performance.getEntriesByType("navigation")[0].responseEnd,
    plotly: plotly ? plotly.responseEnd : NaN,
    chart: window.__firstChartMs,
  };
}"""


@dataclass(frozen=True)
class Timing:
    """One page's measurements in milliseconds, and what one request queried."""

    page: str
    path: str
    server_ms: list[float]
    queries: int
    chart_ms: list[float] | None  # cold cache; None: the page draws no chart
    chart_warm_ms: list[float] | None = None
    cold_steps: dict[str, float] | None = None  # median ms to each milestone of a cold load
    chart_signin_ms: list[float] | None = None  # cold, but through the sign-in page


def main() -> int:
    """Fill the database, measure every page on the server and in Chromium, write the doc."""
    reuse = "--reuse" in sys.argv[1:]
    data = prepare(reuse=reuse)
    started = datetime.now(UTC)
    load_before = os.getloadavg()  # after the fill, whose own load the 1-min figure still holds
    pages = page_paths(data)
    timings = measure_server(pages)
    slowest = max(timings, key=lambda t: statistics.median(t.server_ms))
    hot = profile_page(pages[slowest.page], slowest.page == "login")
    with gunicorn() as url:
        charts = measure_charts(url, [t for t in timings if t.chart_ms is not None], pages)
    timings = [
        Timing(t.page, t.path, t.server_ms, t.queries, *charts.get(t.page, (None,) * 4))
        for t in timings
    ]
    command = COMMAND + (" --reuse" if reuse else "")
    OUTPUT.write_text(
        document(timings, (slowest.page, hot), command, started, load_before, os.getloadavg())
    )
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0 if all(met(t) for t in timings) else 1


def prepare(*, reuse: bool = False):
    """A fresh database and collected static files in VAR; Django set up against them.

    With `reuse`, the database the last run filled is measured again (a rerun after a fix).
    """
    saved = VAR / "page-data.json"
    if not (reuse and saved.exists()):
        shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        BALLAST_VAR_DIR=str(VAR),
        BALLAST_SECRET_KEY=os.environ.get("BALLAST_SECRET_KEY", "bench-pages"),
        BALLAST_STATIC_HASHED="true",
        DJANGO_SETTINGS_MODULE="controlplane.settings",
    )
    os.environ.pop("DATABASE_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    from benchmarks.page_data import PageData, fill

    if saved.exists():
        data = PageData(**json.loads(saved.read_text()))
    else:
        t0 = time.perf_counter()
        data = fill()
        saved.write_text(json.dumps(asdict(data)))
        print(f"database filled in {time.perf_counter() - t0:.0f} s: {data}")
    call_command("collectstatic", interactive=False, verbosity=0)
    return data


def page_paths(data) -> dict[str, str]:
    """Every page the dashboard has, by name, at a path showing the benchmark's rows."""
    from apps.workloads.models import MetricObservation

    w = data.workload_id
    start = MetricObservation.objects.filter(workload=w).latest("ts").ts - timedelta(days=1)
    return {
        "login": "/accounts/login/",
        "home": "/",
        "overview": "/overview/",
        "workload": f"/workloads/{w}/",
        "workload plans": f"/workloads/{w}/plans/",
        "plan": f"/plans/{data.plan_id}/",
        "what-if form": "/what-if/",
        "what-if run": f"/what-if/{data.what_if_run_id}/",
        "catalog": "/catalog/",
        "delete observations": f"/workloads/{w}/observations/delete/?series=requests"
        f"&from={start:%Y-%m-%dT%H:%M:%S}&to={start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}",
    }


def measure_server(pages: dict[str, str]) -> list[Timing]:
    """Each page REQUESTS times after a warm-up; chart_ms is [] where the page draws a chart."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from benchmarks.page_data import USERNAME

    signed_in = Client(SERVER_NAME="localhost")  # one of the default ALLOWED_HOSTS
    signed_in.force_login(get_user_model().objects.get(username=USERNAME))
    timings = []
    for name, path in pages.items():
        client = Client(SERVER_NAME="localhost") if name == "login" else signed_in
        response = client.get(path)
        assert response.status_code == 200, f"{name}: {path} answered {response.status_code}"
        queries = count_queries(client, path)
        elapsed = []
        for _ in range(REQUESTS):
            t0 = time.perf_counter()
            client.get(path)
            elapsed.append((time.perf_counter() - t0) * 1000)
        has_chart = b"data-figure" in response.content
        timings.append(Timing(name, path, elapsed, queries, [] if has_chart else None))
        print(f"{name:20} server median {statistics.median(elapsed):7.1f} ms, {queries} queries")
    return timings


def profile_page(path: str, anonymous: bool) -> list[str]:
    """Ballast's own functions that one request for `path` spends most time in (cProfile)."""
    import cProfile
    import pstats

    from django.contrib.auth import get_user_model
    from django.test import Client

    from benchmarks.page_data import USERNAME

    client = Client(SERVER_NAME="localhost")
    if not anonymous:
        client.force_login(get_user_model().objects.get(username=USERNAME))
    client.get(path)
    profiler = cProfile.Profile()
    profiler.runcall(client.get, path)
    stats = pstats.Stats(profiler).get_stats_profile()
    total_ms = stats.total_tt * 1000
    own = [
        (f.cumtime * 1000, f"{Path(f.file_name).relative_to(ROOT)}:{f.line_number} {name}")
        for name, f in stats.func_profiles.items()
        if f.file_name.startswith(str(ROOT / "apps"))
        or f.file_name.startswith(str(ROOT / "forecasting"))
    ]
    return [
        f"{where}: {ms:.0f} ms of {total_ms:.0f} ms (profiled)"
        for ms, where in sorted(own, reverse=True)[:6]
    ]


def count_queries(client, path: str) -> int:
    """The SQL statements one request for `path` runs."""
    from django.db import connection

    seen = []

    def count(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(path)
    return len(seen)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn():
    """Serve the benchmark's database, with gunicorn as `make demo` does (two workers)."""
    port = free_port()
    log = open(VAR / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "controlplane.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(
                        f"gunicorn did not start: see {VAR / 'gunicorn.log'}"
                    ) from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def measure_charts(
    url: str, timings: list[Timing], pages: dict[str, str]
) -> dict[str, tuple[list[float], list[float], dict[str, float], list[float]]]:
    """Each chart page's ms from navigation to the first chart: cold, warm, after signing in.

    Cold: LOADS loads, each in a fresh context (nothing cached: a first visit). Warm: LOADS
    reloads in one context after a first load (plotly.js from the browser's cache, as on
    every page after the first). After signing in: LOADS fresh contexts open the sign-in page
    on its way to the page, wait a second (the password typed), sign in, and time the page.
    """
    from playwright.sync_api import sync_playwright

    found = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        state = signed_in_state(browser, url)
        for timing in timings:
            cold, steps = [], []
            for _ in range(LOADS):
                context = browser.new_context(storage_state=state)
                steps.append(load(watched(context), url + pages[timing.page]))
                cold.append(steps[-1]["chart"])
                context.close()
            medians = {
                k: statistics.median(s[k] for s in steps) for k in ("html", "plotly", "chart")
            }
            context = browser.new_context(storage_state=state)
            page = watched(context)
            first_chart_ms(page, url + pages[timing.page])
            warm = [first_chart_ms(page, url + pages[timing.page]) for _ in range(LOADS)]
            context.close()
            signin = [signed_in_chart_ms(browser, url, pages[timing.page]) for _ in range(LOADS)]
            found[timing.page] = (cold, warm, medians, signin)
            print(
                f"{timing.page:20} first chart median {statistics.median(cold):7.1f} ms cold, "
                f"{statistics.median(warm):7.1f} ms warm, "
                f"{statistics.median(signin):7.1f} ms after signing in"
            )
        browser.close()
    return found


def signed_in_state(browser, url: str) -> dict:
    """The session cookie of the benchmark's user, signed in through the form."""
    from benchmarks.page_data import PASSWORD, USERNAME

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{url}/")
    state = context.storage_state()
    context.close()
    return state


def signed_in_chart_ms(browser, url: str, path: str) -> float:
    """Sign in on the way to `path` in a fresh context: ms from its request to its first chart.

    Timed from the page's own fetch (after the sign-in's POST and redirect), so the password
    hashing does not count.
    """
    from benchmarks.page_data import PASSWORD, USERNAME

    context = browser.new_context()
    page = watched(context)
    page.goto(f"{url}/accounts/login/?next={path}")
    page.wait_for_timeout(1000)
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(url + path)
    page.wait_for_function("window.__firstChartMs !== undefined", timeout=30_000)
    ms = page.evaluate(
        "window.__firstChartMs - performance.getEntriesByType('navigation')[0].fetchStart"
    )
    context.close()
    return ms


def watched(context):
    """A new page of `context` that stamps when its first chart is drawn, on every load."""
    page = context.new_page()
    page.add_init_script(FIRST_CHART)
    return page


def first_chart_ms(page, url: str) -> float:
    """Load `url` in a watched page: ms from navigation start until its first chart is drawn."""
    return load(page, url)["chart"]


def load(page, url: str) -> dict[str, float]:
    """Load `url` in a watched page: ms from navigation start to each milestone.

    `html`: the page's HTML has come; `plotly`: plotly.js has come; `chart`: the first
    chart is drawn.
    """
    page.goto(url)
    page.wait_for_function("window.__firstChartMs !== undefined", timeout=30_000)
    return page.evaluate(MILESTONES)


def bundle_mb() -> str:
    """The pages' plotly.js bundle as fetched (Brotli) and as parsed, in MB."""
    import brotli

    data = (ROOT / "static" / "plotly" / "plotly-basic.min.js").read_bytes()
    return f"{len(brotli.compress(data)) / 1e6:.1f} MB Brotli, {len(data) / 1e6:.1f} MB to parse"


def met(timing: Timing) -> bool:
    """Whether the page is within both targets (the chart's only where it has one)."""
    server = statistics.median(timing.server_ms) < SERVER_TARGET_MS
    return server and all(
        statistics.median(ms) < CHART_TARGET_MS
        for ms in (timing.chart_ms, timing.chart_warm_ms, timing.chart_signin_ms)
        if ms
    )


def row(page: str, measure: str, values: list[float], target_ms: float, extra: str = "") -> str:
    """One line of the table: median, min, max, the target and whether the median meets it."""
    median = statistics.median(values)
    return (
        f"| {page} | {measure}{extra} | {median:.0f} | {min(values):.0f} | {max(values):.0f} "
        f"| < {target_ms:.0f} | {'yes' if median < target_ms else '**no**'} |"
    )


def document(timings: list[Timing], hot, command: str, started: datetime, before, after) -> str:
    """The Markdown results: one row per page and measure, how they were taken, where time goes."""
    lines = [
        "# Page speed: server time and first chart drawn",
        "",
        f"Command: `{command}` (writes this file). Measured from {started:%Y-%m-%d %H:%M} UTC on "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other work, Python "
        f"{platform.python_version()}; load average (1, 5, 15 min) "
        f"{' / '.join(f'{v:.2f}' for v in before)} when measuring began, "
        f"{' / '.join(f'{v:.2f}' for v in after)} when it ended.",
        "",
        "Data (benchmarks/page_data.py): a fresh SQLite database with the demo's rows plus 20 "
        "online workloads, each with 30 days of per-minute `requests` (43,200 points; 864,000 "
        "in all), a plan built for the first and a finished what-if run; pages are fetched as "
        "the ml-platform team's SRE.",
        "",
        f"Server time: Django's test client through the whole stack, {REQUESTS} requests after "
        f"a warm-up. First chart: gunicorn (2 workers) on the same database, headless Chromium, "
        "from navigation start to the first figure's `Plotly.newPlot` resolved and the next "
        f"frame; cold cache: {LOADS} loads each in a fresh context (a first visit, plotly.js "
        f"fetched: {bundle_mb()}), warm cache: {LOADS} reloads after a first "
        "load (plotly.js from the browser's cache, as on every page after the first), after "
        f"signing in: {LOADS} fresh contexts sign in on the way to the page (the sign-in page "
        "prefetches plotly.js), timed from the page's own request. Times in ms.",
        "",
        "| Page | Measure | Median | Min | Max | Target | Met |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in timings:
        lines.append(
            row(t.page, "server", t.server_ms, SERVER_TARGET_MS, f" ({t.queries} queries)")
        )
        if t.chart_ms and t.chart_warm_ms:
            lines.append(row(t.page, "first chart, cold cache", t.chart_ms, CHART_TARGET_MS))
            lines.append(row(t.page, "first chart, warm cache", t.chart_warm_ms, CHART_TARGET_MS))
        if t.chart_signin_ms:
            lines.append(
                row(t.page, "first chart, after signing in", t.chart_signin_ms, CHART_TARGET_MS)
            )
    missed = [t.page for t in timings if not met(t)]
    lines += [
        "",
        f"Pages missing a target: {', '.join(missed) if missed else 'none'}.",
        "",
        "## Where the time goes",
        "",
        "A cold load, median ms from navigation start: the page's HTML in, plotly.js in, "
        "the first chart drawn; what follows plotly.js's arrival is the browser parsing and "
        "running it, then drawing.",
        "",
        "| Page | HTML in | plotly.js in | First chart | After plotly.js |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for t in timings:
        if t.cold_steps:
            html, js, chart = (t.cold_steps[k] for k in ("html", "plotly", "chart"))
            lines.append(f"| {t.page} | {html:.0f} | {js:.0f} | {chart:.0f} | {chart - js:.0f} |")
    page, functions = hot
    lines += [
        "",
        f"The slowest page on the server, {page}: Ballast's own functions by cumulative time "
        "in one profiled request (cProfile adds its own overhead):",
        "",
        *(f"- `{f}`" for f in functions),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
