"""API plumbing shared by every app: pagination, strict fields and filters.

Errors are rendered by apps.kernel.problems and documented by apps.kernel.openapi.
"""

import re
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db import models
from django.utils.dateparse import parse_datetime
from django_filters import rest_framework as drf_filters
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.settings import api_settings


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=` pagination; 100 rows by default, at most 1,000 a page.

    DRF's own falls back to the defaults on a junk value; this one refuses it with a 400 that
    names the parameter, as the schema's `minimum` says. A limit over 1,000 is lowered to 1,000.
    """

    default_limit = 100
    max_limit = 1000

    def get_limit(self, request: Any) -> int:
        """`limit`, a whole number >= 1, at most `max_limit`."""
        raw = request.query_params.get(self.limit_query_param)
        if raw is None:
            return self.default_limit
        return min(parse_count(self.limit_query_param, raw, minimum=1), self.max_limit)

    def get_offset(self, request: Any) -> int:
        """`offset`, a whole number >= 0."""
        raw = request.query_params.get(self.offset_query_param)
        return 0 if raw is None else parse_count(self.offset_query_param, raw, minimum=0)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """DRF's parameters, with the bounds this class enforces."""
        parameters = super().get_schema_operation_parameters(view)
        minimum = {self.limit_query_param: 1, self.offset_query_param: 0}
        for parameter in parameters:
            parameter["schema"]["minimum"] = minimum[parameter["name"]]
        limits = f" {self.default_limit} by default, {self.max_limit} at most."
        parameters[0]["description"] += limits
        return parameters


# A count this long is past every page; int() need not read thousands of digits.
MAX_COUNT_DIGITS = 18


def parse_count(name: str, raw: str, *, minimum: int) -> int:
    """A query parameter holding a whole number >= `minimum`, or a 400 naming it."""
    value = None
    if re.fullmatch(r"[0-9]+", raw):
        value = int(raw) if len(raw) <= MAX_COUNT_DIGITS else 10**MAX_COUNT_DIGITS
    if value is None or value < minimum:
        raise serializers.ValidationError(
            {name: [f"must be a whole number >= {minimum}, got {raw[:40]!r}"]}
        )
    return value


class StrictBooleanField(serializers.BooleanField):
    """A JSON `true` or `false`; DRF's own also takes 1, "yes", "on" and the like."""

    def to_internal_value(self, data: Any) -> bool:
        """Only a JSON boolean, as the schema says."""
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)


class StrictBooleanFormField(forms.Field):
    """A query parameter `true` or `false`; django-filter's own ignores any other value."""

    def to_python(self, value: Any) -> bool | None:
        """`true` or `false`; empty means no filter."""
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return bool(value == "true")
        raise forms.ValidationError(f"must be true or false, got {str(value)[:40]!r}", "invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):  # type: ignore[misc]
    """`BooleanFilter` that refuses anything but `true` and `false`."""

    field_class = StrictBooleanFormField


class StrictIntegerFormField(forms.IntegerField):
    """A query parameter holding a whole number; Django's own also takes `1.0`."""

    def to_python(self, value: Any) -> int | None:
        """Digits with an optional sign, nothing else."""
        if value not in self.empty_values and not re.fullmatch(r"-?[0-9]+", str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], "invalid")
        result: int | None = super().to_python(value)
        return result


class IntegerFilter(django_filters.NumberFilter):  # type: ignore[misc]
    """`NumberFilter` for integer columns; django-filter's own takes any decimal, `0.5` too."""

    field_class = StrictIntegerFormField


class NonEmptyFilterForm(forms.Form):
    """A filter given with no value (`?status=`) is refused, unless it filters on text."""

    def clean(self) -> dict[str, Any]:
        """Refuse `?name=` for every filter whose values are not text."""
        for name, field in self.fields.items():
            if self.data.get(name) == "" and not isinstance(field, forms.CharField):
                self.add_error(name, forms.ValidationError("must not be empty", "blank"))
        cleaned: dict[str, Any] = super().clean() or {}
        return cleaned


class FilterSet(drf_filters.FilterSet):  # type: ignore[misc]
    """The API's filter sets: they filter only on values the schema allows.

    Booleans are `true` or `false`, integers whole numbers, and a filter given empty is refused
    (django-filter's own take `1` or `yes` for true, `0.5` for an integer, and ignore an empty
    or unreadable boolean).
    """

    FILTER_DEFAULTS = {
        **drf_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        **{
            column: {"filter_class": IntegerFilter}
            for column in (
                models.AutoField,
                models.IntegerField,
                models.SmallIntegerField,
                models.PositiveIntegerField,
                models.PositiveSmallIntegerField,
            )
        },
    }

    def get_form_class(self) -> type[forms.Form]:
        """django-filter's form, refusing empty values."""
        form_class = super().get_form_class()
        return type(form_class.__name__, (NonEmptyFilterForm, form_class), {})


class FilterBackend(drf_filters.DjangoFilterBackend):  # type: ignore[misc]
    """django-filter's backend, building `filterset_fields` filters on `FilterSet`."""

    filterset_base = FilterSet


NAMED_UNKNOWN_FIELDS = 20


class RejectUnknownFieldsMixin(serializers.Serializer[Any]):
    """Refuse fields a serializer does not know, instead of silently dropping a typo.

    Its model serializers also take a model's booleans only as JSON `true` or `false`
    (`StrictBooleanField`), and the schema says `additionalProperties: false` for its bodies.
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BooleanField: StrictBooleanField,
    }

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
        """Parse, then convert to UTC; a moment without a zone or a UTC equivalent is refused."""
        if value not in self.empty_values and not has_time_zone(str(value)):
            raise forms.ValidationError(
                "must be a date-time with a time zone, e.g. 2026-11-01T00:00:00Z", "invalid"
            )
        parsed: datetime | None = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise forms.ValidationError("is out of the range of dates") from exc


def has_time_zone(text: str) -> bool:
    """Whether an ISO-8601 date-time names its zone (django-filter would assume the server's)."""
    try:
        parsed = parse_datetime(text.strip())
    except ValueError:
        return False
    return parsed is not None and parsed.tzinfo is not None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):  # type: ignore[misc]
    """`IsoDateTimeFilter` whose value reaches the query in UTC."""

    field_class = UtcIsoDateTimeField
