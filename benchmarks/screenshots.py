"""The README's screenshots: the main pages on the page benchmark's data, in headless Chromium.

Run from the repository root (Chromium found as for the browser tests, tests/programs.py):

    .venv/bin/python -m benchmarks.screenshots      # --reuse: the last page benchmark's database

It fills the same fresh database as benchmarks.pages (the demo plus 20 busy workloads, a plan
and a what-if run), serves it with gunicorn and saves docs/screenshots/*.png: the overview, a
workload, a plan and a what-if run at 1280x800, and the plan on a 390x844 phone. Each is the
top of its page, kept under about 300 KB by quantizing to 256 colours.
"""

from __future__ import annotations

import io
import sys

from PIL import Image

from benchmarks.pages import ROOT, gunicorn, page_paths, prepare
from tests.programs import chromium

FOLDER = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SHOTS = [
    # file, page, viewport
    ("overview.png", "overview", DESKTOP),
    ("workload.png", "workload", DESKTOP),
    ("plan.png", "plan", DESKTOP),
    ("what-if-run.png", "what-if run", DESKTOP),
    ("phone-plan.png", "plan", PHONE),
]


def main() -> int:
    """Fill the database, serve it, sign in, save each screenshot."""
    from playwright.sync_api import sync_playwright

    from benchmarks.page_data import PASSWORD, USERNAME

    pages = page_paths(prepare(reuse="--reuse" in sys.argv[1:]))
    FOLDER.mkdir(parents=True, exist_ok=True)
    with gunicorn() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        for filename, name, viewport in SHOTS:
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.goto(f"{url}/accounts/login/?next={pages[name]}")
            page.fill("#id_username", USERNAME)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]:has-text('Sign in')")
            page.wait_for_load_state("networkidle")
            for figure in page.locator(".figure").all():
                figure.locator("svg.main-svg").first.wait_for(state="attached", timeout=30_000)
            page.wait_for_timeout(500)  # plotly's transitions settle
            save(page.screenshot(), FOLDER / filename)
            context.close()
        browser.close()
    return 0


def save(png: bytes, path) -> None:
    """Write `png` quantized to 256 colours: a fifth of the bytes, the same to the eye."""
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
    image.save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1000:.0f} kB")


if __name__ == "__main__":
    sys.exit(main())
