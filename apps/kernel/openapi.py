"""The schema's AutoSchema: every error an operation can answer, documented as a problem.

drf-standardized-errors' AutoSchema decides which errors an operation can meet (400 with a body,
filters or a parser; 401 with authentication; 404 with a path parameter; 405, 406, 415, 500
everywhere). This subclass adds what Ballast answers besides: 403 on every operation (a token's
scopes and the session's CSRF check apply to all), 400 on every paginated list (a junk `limit`
or `offset` is refused), 413 on every operation with a body. Every error is documented as
`application/problem+json` with the `Problem` schema, whatever a view's `extend_schema` gave it.
Request bodies that refuse unknown fields say so (`additionalProperties: false`); one of
several bodies (`oneOf`) is required when each of them has a required field. Each operation has
one tag, the group of the resource its path names (`RESOURCE_TAGS`); the tags' descriptions are
SPECTACULAR_SETTINGS["TAGS"] (controlplane/settings/api.py).
"""

from http import HTTPStatus
from typing import Any

from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from rest_framework import exceptions

from apps.kernel.api import RejectUnknownFieldsMixin
from apps.kernel.problems import PROBLEM_MEDIA_TYPE, ProblemSerializer, problem

DESCRIPTIONS = {
    400: "Malformed, or a field is invalid (each one named in `errors`); also a reference to an "
    "object that does not exist or that you cannot see.",
    401: "No credentials, or they are invalid, expired or revoked.",
    403: "Your role, team or token scopes do not allow this (or a session's CSRF check failed).",
    404: "No such object, or not one you can see.",
    405: "This path does not take this method; `Allow` lists those it takes.",
    406: "No representation matches the `Accept` header.",
    409: "The object's state does not allow this now.",
    413: "The request body is over its size limit (`detail` names the limit and its setting).",
    415: "The body's media type is not one this operation takes.",
    500: "A fault of Ballast; nothing was changed.",
}
BODY_METHODS = ("POST", "PUT", "PATCH")
API_PREFIX = "/api/v1/"
# The first segment of each operation's path under /api/v1/, and the tag it is listed under.
RESOURCE_TAGS = {
    "workloads": "workloads",
    "slas": "workloads",
    "model-variants": "workloads",
    "deployment-targets": "workloads",
    "metric-sources": "metrics",
    "metric-observations": "metrics",
    "trace-imports": "metrics",
    "forecast-runs": "forecasts",
    "plans": "plans",
    "optimization-runs": "plans",
    "plan-schedules": "plans",
    "guardrails": "guardrails",
    "guardrail-changes": "guardrails",
    "controllers": "control",
    "control-decisions": "control",
    "providers": "catalog",
    "regions": "catalog",
    "instance-types": "catalog",
    "offers": "catalog",
    "serverless-offers": "catalog",
    "billed-costs": "billing",
    "webhooks": "webhooks",
    "webhook-deliveries": "webhooks",
    "auth": "tokens",
    "audit-events": "audit",
}


class AutoSchema(StandardizedErrorsAutoSchema):
    """drf-standardized-errors' AutoSchema, with Ballast's errors and the problem media type."""

    def get_tags(self) -> list[str]:
        """The tag of the resource its path names first: /api/v1/plans/{id}/apply/ is `plans`."""
        resource = self.path.removeprefix(API_PREFIX).split("/")[0]
        if resource not in RESOURCE_TAGS:
            raise KeyError(f"{self.path}: give {resource!r} a tag in RESOURCE_TAGS")
        return [RESOURCE_TAGS[resource]]

    def _should_add_error_response(self, responses: dict[str, Any], status_code: str) -> bool:
        if status_code == "413":
            return status_code not in responses and self.method in BODY_METHODS
        return super()._should_add_error_response(responses, status_code)

    def _should_add_http403_error_response(self) -> bool:
        return True

    def _should_add_validation_error_response(self) -> bool:
        paginated_list = self._is_list_view() and self._get_paginator() is not None  # type: ignore[no-untyped-call]
        return paginated_list or super()._should_add_validation_error_response()

    def _get_response_for_code(
        self,
        serializer: Any,
        status_code: str,
        media_types: Any = None,
        direction: Any = "response",
    ) -> Any:
        if not (direction == "response" and status_code.isdigit() and int(status_code) >= 400):
            return super()._get_response_for_code(  # type: ignore[no-untyped-call]
                serializer, status_code, media_types, direction
            )
        description = serializer.description if isinstance(serializer, OpenApiResponse) else ""
        response: dict[str, Any] = super()._get_response_for_code(  # type: ignore[no-untyped-call]
            ProblemSerializer, status_code, [PROBLEM_MEDIA_TYPE], direction
        )
        status = int(status_code)
        response["description"] = description or DESCRIPTIONS.get(status, HTTPStatus(status).phrase)
        return response

    def _get_error_response_examples(self) -> list[OpenApiExample]:
        return [
            OpenApiExample(
                type(exc).__name__,
                value=problem(
                    status=exc.status_code,
                    detail=str(exc.detail),
                    code=str(exc.get_codes()),
                    instance=self.path,
                ),
                response_only=True,
                status_codes=[str(exc.status_code)],
            )
            for exc in (
                exceptions.NotAuthenticated(),
                exceptions.PermissionDenied(),
                exceptions.NotFound(),
                exceptions.MethodNotAllowed(self.method),
                exceptions.NotAcceptable(),
                exceptions.UnsupportedMediaType("text/plain"),
            )
        ]

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(  # type: ignore[no-untyped-call]
            serializer, direction
        )
        instance = force_instance(serializer)  # type: ignore[no-untyped-call]
        if direction == "request" and isinstance(instance, RejectUnknownFieldsMixin):
            schema["additionalProperties"] = False
        return schema

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        schema, required = super()._get_request_for_media_type(  # type: ignore[no-untyped-call]
            serializer, direction
        )
        if isinstance(serializer, PolymorphicProxySerializer):
            # One of several bodies (`oneOf`): required when each of them has a required field.
            bodies = [force_instance(body) for body in serializer.serializers]  # type: ignore[no-untyped-call]
            required = all(any(f.required for f in body.fields.values()) for body in bodies)
        return schema, required
