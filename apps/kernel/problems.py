"""Every refusal of the API in one shape: RFC 9457 problem details, as application/problem+json.

drf-standardized-errors catches what a view raises (Django's Http404 and PermissionDenied
included, and any other exception as a 500 that names nothing internal); `ProblemFormatter`
writes it as a problem:

    {"type": "about:blank", "title": "Bad Request", "status": 400, "code": "invalid",
     "detail": "workload: Invalid pk '7' - object does not exist.", "instance": "/api/v1/plans/",
     "errors": [{"attr": "workload", "code": "does_not_exist", "detail": "Invalid pk ..."}]}

`errors` lists every field refused, each named in `attr`: a body field as a dotted path
(`points.0.ts`), a query parameter, or `non_field_errors` for the body as a whole. `code` is
DRF's error code, stable for programs to read; `detail` is for people. Refusals may carry
extension members of their own (a broken guardrail's `rule`). Answers made outside DRF (the body
size check, URLs that match no route under /api/) use `problem_response` for the same shape.
"""

from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_standardized_errors.formatter import ExceptionFormatter
from drf_standardized_errors.handler import ExceptionHandler
from drf_standardized_errors.types import ErrorResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings

PROBLEM_MEDIA_TYPE = "application/problem+json"


class PayloadTooLarge(exceptions.APIException):
    """413: the body is over the size limit its kind of request has."""

    status_code = 413
    default_detail = "the request body is over the size limit"
    default_code = "payload_too_large"


class Refused(exceptions.APIException):
    """A refusal with its own status and extension members, e.g. a guardrail's `rule`."""

    def __init__(self, detail: str, *, status: int, code: str, **members: Any) -> None:
        super().__init__(detail, code)
        self.status_code = status
        self.members = members


def problem(
    *, status: int, detail: str, code: str, instance: str, **members: Any
) -> dict[str, Any]:
    """The problem document of one refusal; `members` are extension members."""
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
        "instance": instance,
        **members,
    }


def problem_response(request: HttpRequest, *, status: int, detail: str, code: str) -> HttpResponse:
    """A problem answered outside DRF (middleware, Django's error views)."""
    body = problem(status=status, detail=detail, code=code, instance=request.path)
    return JsonResponse(body, status=status, content_type=PROBLEM_MEDIA_TYPE)


class ProblemFormatter(ExceptionFormatter):
    """drf-standardized-errors' flat list of errors, written as an RFC 9457 problem."""

    def format_error_response(self, error_response: ErrorResponse) -> dict[str, Any]:
        """The problem document; validation errors list each field under `errors`."""
        request = self.context.get("request")
        members = dict(getattr(self.exc, "members", {}))
        if isinstance(self.exc, exceptions.ValidationError):
            fields = [
                {
                    "attr": error.attr or api_settings.NON_FIELD_ERRORS_KEY,
                    "code": error.code or "invalid",  # a Django form error may carry none
                    "detail": error.detail,
                }
                for error in error_response.errors
            ]
            members["errors"] = fields
            detail = summarize(fields)
            code = "invalid"
        else:
            detail = error_response.errors[0].detail if error_response.errors else ""
            code = error_response.errors[0].code if error_response.errors else "error"
        return problem(
            status=self.exc.status_code,
            detail=detail,
            code=code,
            instance=request.path if request is not None else "",
            **members,
        )


def summarize(fields: list[dict[str, Any]]) -> str:
    """One sentence naming the first refused field, and how many more there are."""
    if not fields:
        return "the request is invalid"
    first = f"{fields[0]['attr']}: {fields[0]['detail']}"
    more = len(fields) - 1
    return first if not more else f"{first} (and {more} more error{'s' if more > 1 else ''})"


class ProblemHandler(ExceptionHandler):
    """drf-standardized-errors' handler: an oversized body is a 413, the answer a problem."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        """Django's body check (RequestDataTooBig) becomes a 413 that names the limit."""
        if isinstance(exc, RequestDataTooBig):
            return PayloadTooLarge(str(exc))
        return super().convert_known_exceptions(exc)

    def get_response(self, exc: exceptions.APIException, data: dict[str, Any]) -> Response:
        """Served as application/problem+json, except to the browsable API's HTML pages."""
        response = super().get_response(exc, data)
        renderer = getattr(self.context.get("request"), "accepted_renderer", None)
        if renderer is None or renderer.format == "json":
            response.content_type = PROBLEM_MEDIA_TYPE
        return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 for a URL no route matches: a problem under /api/, the page elsewhere."""
    if request.path.startswith("/api/"):
        detail = "no API operation has this path"
        return problem_response(request, status=404, detail=detail, code="not_found")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 outside a view of DRF: a problem under /api/, the page elsewhere."""
    if request.path.startswith("/api/"):
        return problem_response(request, status=500, detail="Server Error (500)", code="error")
    return defaults.server_error(request)


class ProblemFieldErrorSerializer(serializers.Serializer[Any]):
    """One refused field of a 400."""

    attr = serializers.CharField(
        help_text="The field: a body field as a dotted path (`points.0.ts`), a query parameter, "
        "or `non_field_errors` for the body as a whole."
    )
    code = serializers.CharField(help_text="DRF's error code, e.g. `required`, `does_not_exist`.")
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer[Any]):
    """An RFC 9457 problem, the body of every error answer (only for the schema)."""

    type = serializers.CharField(help_text="`about:blank`: the status says what happened.")
    title = serializers.CharField(help_text="The status's phrase, e.g. `Conflict`.")
    status = serializers.IntegerField()
    code = serializers.CharField(
        help_text="What went wrong, for programs: `invalid` for a 400 listing `errors`, else "
        "e.g. `not_authenticated`, `permission_denied`, `not_found`, `conflict`."
    )
    detail = serializers.CharField(help_text="What went wrong, for people.")
    instance = serializers.CharField(help_text="The path of the request.")
    # Named `errors` as in RFC 9457's examples, though Serializer has a property so named.
    errors = ProblemFieldErrorSerializer(  # type: ignore[assignment]
        many=True, required=False, help_text="400: every field refused."
    )
    rule = serializers.CharField(
        required=False, help_text="A plan action refused by a guardrail: the guardrail's name."
    )
