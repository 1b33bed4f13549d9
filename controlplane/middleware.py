"""Refuse request bodies over the documented size limits, and NUL characters, before parsing."""

from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from apps.kernel.problems import problem_response


class RequestSizeLimitMiddleware:
    """Answer 413 when Content-Length exceeds the limit for its kind of body (400 for a bad one).

    DRF's JSON parser reads the stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not
    protect API endpoints; this check does. Multipart uploads (trace files) get their own limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        """Refuse an oversized body, or pass the request on."""
        limit, setting = self._limit_for(request)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit():
            return self._refuse(request, "Content-Length must be a whole number of bytes")
        if int(length) > limit:
            return self._refuse(
                request,
                f"request body is {int(length)} bytes; the limit is {limit} bytes ({setting})",
                status=413,
            )
        if self._has_nul(request):
            return self._refuse(
                request, "the request contains a NUL character (\\u0000), which no field accepts"
            )
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        """NUL in the query string or the body, raw or JSON-escaped.

        No field of Ballast holds one, and PostgreSQL cannot store one in text: without this
        check a NUL in a lookup would reach the database and fail there (a 500). A page's upload
        is its form's to judge (a binary trace is answered on the page, naming the field), so
        there only the form's text fields are checked, not the files.
        """
        query = unquote_to_bytes(request.META.get("QUERY_STRING", ""))
        if not _is_api(request) and request.content_type == "multipart/form-data":
            try:
                fields = list(request.POST.lists()) if request.method == "POST" else []
            except MultiPartParserError:
                return False  # the form finds no fields in it and says which it needs
            return b"\x00" in query or any("\x00" in v for _, vs in fields for v in vs)
        body = request.body if request.method in ("POST", "PUT", "PATCH") else b""
        if request.content_type == "application/x-www-form-urlencoded":
            body = unquote_to_bytes(body)
        return b"\x00" in query or b"\x00" in body or b"\\u0000" in body

    @staticmethod
    def _limit_for(request) -> tuple[int, str]:
        if request.content_type == "multipart/form-data":
            return settings.MAX_TRACE_UPLOAD_BYTES, "BALLAST_MAX_TRACE_UPLOAD_BYTES"
        return settings.MAX_REQUEST_BYTES, "BALLAST_MAX_REQUEST_BYTES"

    @staticmethod
    def _refuse(request, message: str, status: int = 400) -> HttpResponse:
        """A problem for the API; a page for a page, so that a browser stays in the app."""
        if not _is_api(request):
            context = {"status": status, "message": message, "back": request.path}
            return render(request, "refused.html", context, status=status)
        code = "payload_too_large" if status == 413 else "parse_error"
        return problem_response(request, status=status, detail=message, code=code)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")
