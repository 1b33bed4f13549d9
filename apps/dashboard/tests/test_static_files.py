"""Static files as production serves them: hashed names, compressed, cached for a year."""

import re

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

HASHED_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
PLOTLY_BYTES = 1_190_000  # static/plotly/plotly-basic.min.js, uncompressed
PLOTLY = "plotly/plotly-basic.min"


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """Run collectstatic into a fresh folder with production's storage, which the test then serves.

    The API docs' and the admin's files are left out: the pages fetched here use neither, and
    compressing them takes most of collectstatic's time.
    """
    with override_settings(STATIC_ROOT=tmp_path_factory.mktemp("static"), STORAGES=HASHED_STORAGES):
        call_command(
            "collectstatic",
            interactive=False,
            verbosity=0,
            ignore_patterns=["drf_spectacular_sidecar", "admin", "rest_framework"],
        )
        yield


@pytest.mark.slow
def test_a_page_names_plotly_by_hash_and_it_comes_compressed_and_cached_a_year(
    collected, make_user, team_a
):
    client = Client()  # a new client builds the middleware, which reads the collected folder
    client.force_login(make_user("sre-a", role="sre", team=team_a))
    page = client.get("/catalog/").content.decode()
    url = re.search(rf'"(/static/{re.escape(PLOTLY)}\.[0-9a-f]{{12}}\.js)"', page)
    assert url, "the catalog page does not name plotly.js by a hashed name"
    assert re.search(r'href="/static/ballast\.[0-9a-f]{12}\.css"', page)

    for encoding in ("br", "gzip"):
        response = client.get(url[1], headers={"accept-encoding": encoding})
        body = b"".join(response.streaming_content)
        assert response.status_code == 200
        assert response["Content-Encoding"] == encoding
        assert len(body) < 0.4 * PLOTLY_BYTES, f"{encoding}: {len(body):,} bytes"
        assert response["Cache-Control"] == "max-age=31536000, public, immutable"


@pytest.mark.slow
def test_a_plain_name_is_served_too_but_cached_briefly(collected, db):
    response = Client().get(f"/static/{PLOTLY}.js", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert "immutable" not in response["Cache-Control"]


def test_the_vendored_plotly_js_is_the_version_the_pinned_plotly_ships():
    from django.contrib.staticfiles import finders
    from plotly.offline import get_plotlyjs_version

    path = finders.find(f"{PLOTLY}.js")
    assert path, "static/plotly/plotly-basic.min.js is missing"
    with open(path, encoding="utf-8") as bundle:
        header = bundle.read(200)
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}\n" in header
