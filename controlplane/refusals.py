"""Report every refused write (401, 403, 409, 423, 429) to the audit trail, in one place."""

import json
import logging

from django.conf import settings
from django.db import DatabaseError

from apps.plans.refusals import record_refusal

REFUSED_STATUSES = frozenset({401, 403, 409, 423, 429})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGN_IN_PATHS = frozenset({settings.LOGIN_URL, "/admin/login/"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

logger = logging.getLogger(__name__)


class RefusalAuditMiddleware:
    """After the answer: a refused write becomes a `refused` audit event (apps.plans.refusals).

    It sits outside CSRF, authentication and django-axes, so their refusals (a missing CSRF
    token, a sign-in lockout) are seen as well as the views'.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        """Answer, then record the answer when it refused a write."""
        response = self.get_response(request)
        if request.method in WRITE_METHODS and response.status_code in REFUSED_STATUSES:
            try:
                record_refusal(
                    user=getattr(request, "user", None),
                    address=request.META.get("REMOTE_ADDR", ""),
                    method=request.method,
                    path=request.path,
                    status=response.status_code,
                    reason=refusal_reason(response),
                    via=_via(request),
                    username_tried=_username_tried(request),
                )
            except DatabaseError:  # the answer still goes out; the log keeps what was lost
                logger.exception("could not audit a refused %s %s", request.method, request.path)
        return response


def refusal_reason(response) -> str:
    """The answer's `detail` (RFC 9457 problem details and DRF alike), else its title or phrase."""
    body = None
    if "json" in response.get("Content-Type", "") and not response.streaming:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
    if isinstance(body, dict):
        for key in ("detail", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if value:
                return json.dumps(value)
    if body:
        return json.dumps(body)
    return response.reason_phrase


def _via(request) -> str:
    if request.META.get("HTTP_AUTHORIZATION"):
        return "token"
    return "api" if request.path.startswith("/api/") else "page"


def _username_tried(request) -> str:
    if request.path not in SIGN_IN_PATHS or request.content_type not in FORM_TYPES:
        return ""
    return request.POST.get("username", "")  # parsed already by the sign-in view
