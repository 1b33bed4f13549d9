"""API plumbing shared by every app: pagination, error rendering, strict fields and filters."""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import RequestDataTooBig
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=` pagination; 100 rows by default, at most 1,000 a page."""

    default_limit = 100
    max_limit = 1000


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus a 413 that names the limit for bodies over the size limit."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": str(exc)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return drf_exception_handler(exc, context)


NAMED_UNKNOWN_FIELDS = 20


class RejectUnknownFieldsMixin(serializers.Serializer[Any]):
    """Refuse fields a serializer does not know, instead of silently dropping a typo."""

    def to_internal_value(self, data: Any) -> Any:
        """Name the unknown fields in one 400, before any other check.

        At most NAMED_UNKNOWN_FIELDS are named, the rest counted: naming each of the 80,000
        keys a 1 MB body holds took the web process 7 s and 100 MB.
        """
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                named = unknown[:NAMED_UNKNOWN_FIELDS]
                errors = {name: ["unknown field"] for name in named}
                if len(unknown) > len(named):
                    more = f"and {len(unknown) - len(named):,} more unknown fields"
                    errors[api_settings.NON_FIELD_ERRORS_KEY] = [more]
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):  # type: ignore[misc]
    """An ISO-8601 instant converted to UTC, so the database never sees an odd offset."""

    def to_python(self, value: Any) -> datetime | None:
        """Parse, then convert to UTC; a moment that has no UTC equivalent is refused."""
        parsed: datetime | None = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed
        except OverflowError as exc:
            raise forms.ValidationError("is out of the range of dates") from exc


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):  # type: ignore[misc]
    """`IsoDateTimeFilter` whose value reaches the query in UTC."""

    field_class = UtcIsoDateTimeField
