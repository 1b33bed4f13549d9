"""Serializer fields that bound their work before it starts."""

from typing import Any

from rest_framework import serializers


class BoundedListField(serializers.ListField):
    """A list of at most `max_length` items, refused before any item is validated.

    DRF's ListField validates every item and checks the length last: 20,000 bad items in a
    1 MB body made 20,000 errors, 3 MB of answer and 2 to 4 s of the web process.
    """

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        """Refuse a long list at once, else validate it as DRF does."""
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        items: list[Any] = super().to_internal_value(data)
        return items
