"""Playwright on headless Chromium against pytest-django's live_server.

Select these tests with `-m browser` (or leave them out with `-m "not browser"`). Playwright's sync
API runs an event loop, which Django refuses ORM calls under unless DJANGO_ALLOW_ASYNC_UNSAFE is
set. Screenshots go to $BALLAST_ARTIFACTS when set, else to the test's tmp dir. The browser is the
one tests/programs.py finds (CHROMIUM names it; else PATH and the usual places).
"""

import os
from pathlib import Path

import pytest

from tests import programs

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    """Register the marker (the project runs pytest with --strict-markers)."""
    config.addinivalue_line("markers", "browser: drives headless Chromium with Playwright")


def pytest_collection_modifyitems(items):
    """Every test in this folder is a browser test."""
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session (an installed one: the tests download nothing)."""
    from playwright.sync_api import sync_playwright

    try:
        executable = programs.chromium()
    except programs.NotFound as error:
        pytest.fail(f"{error}; `python -m tests.programs` says how to install it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def artifacts(tmp_path) -> Path:
    """Where screenshots are kept."""
    folder = Path(os.environ.get("BALLAST_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def csp_violations():
    """What the pages' Content-Security-Policy refused: none may be left when a test ends.

    Chromium reports each refusal as a console error ("... violates the following Content
    Security Policy directive ..."); `watch(page)` collects them for that page.
    """
    seen: list[str] = []

    def watch(page):
        page.on(
            "console",
            lambda message: (
                seen.append(f"{page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield watch
    assert not seen, "\n".join(seen)


@pytest.fixture
def signed_in(chromium, live_server, transactional_db, csp_violations):
    """A fresh page signed in as `username` through the real login form, watched by the CSP."""
    contexts = []

    def sign_in(username: str):
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = csp_violations(context.new_page())
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", f"x-{username}")
        page.click("button[type=submit]:has-text('Sign in')")
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield sign_in
    for context in contexts:
        context.close()
