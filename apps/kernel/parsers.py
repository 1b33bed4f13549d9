"""The API's parsers: DRF's, answering bodies they cannot read with a 400 instead of a 500.

DRF turns only some parse failures into its 400: Python's RecursionError on deep nesting and
Django's SuspiciousOperation for too many multipart fields or files went on to the exception
handler as server errors.
"""

from collections.abc import Mapping
from typing import IO, Any

from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser
from rest_framework.parsers import MultiPartParser as DRFMultiPartParser


class JSONParser(DRFJSONParser):
    """DRF's JSON parser; Python's `json` raises RecursionError past ~1,000 levels of nesting.

    `[[[...]]]` a few kilobytes long was a 500. No field of Ballast nests more than a few
    levels (an optimization problem: four).
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The parsed body, or a 400 saying it nests too deeply."""
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply") from None


class MultiPartParser(DRFMultiPartParser):
    """DRF's multipart parser; too many fields or files is a 400 naming the setting."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """The parsed parts, or a 400 for too many fields or files."""
        try:
            return super().parse(stream, media_type, parser_context)
        except (TooManyFieldsSent, TooManyFilesSent) as exc:
            raise ParseError(str(exc)) from None
