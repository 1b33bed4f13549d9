"""A static files finder for the one file Ballast takes from the plotly package: plotly.min.js.

plotly's package_data folder also holds a 4.8 MB widget bundle, datasets and templates that no
page uses; naming the folder in STATICFILES_DIRS would collect, hash and compress all of them.
"""

from pathlib import Path
from typing import Any

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage
from django.core.files.storage import FileSystemStorage
from whitenoise.middleware import WhiteNoiseMiddleware

PLOTLY_JS = "plotly/plotly.min.js"


class PlotlyFinder(BaseFinder):
    """Finds static/plotly/plotly.min.js in the installed plotly package (no CDN)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(Path(plotly.__file__).resolve().parent / "package_data")
        self.storage.prefix = "plotly"  # type: ignore[attr-defined]  # read by collectstatic

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        """Nothing to check: the file ships with the pinned plotly."""
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        """The file's absolute path for PLOTLY_JS, nothing for any other path."""
        if path != PLOTLY_JS:
            return [] if find_all else ""
        found = self.storage.path("plotly.min.js")
        return [found] if find_all else found

    def list(self, ignore_patterns: Any) -> Any:
        """The one file, as collectstatic and WhiteNoise read a finder's files."""
        yield "plotly.min.js", self.storage


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, caching a hashed file for a year rather than its default ten.

    A year is the longest lifetime HTTP/1.1 caches were told to expect (RFC 2616 section 14.21)
    and what browsers' and CDNs' guides name; a new release gets new hashed names anyway.
    """

    FOREVER = 365 * 24 * 60 * 60
