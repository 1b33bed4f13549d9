"""API tokens as their owner sees them: never the token itself, except once at creation."""

from django.conf import settings
from rest_framework import serializers

from apps.accounts.models import TokenScope
from apps.kernel.fields import BoundedListField


class TokenSerializer(serializers.Serializer):
    """One of the caller's tokens."""

    id = serializers.CharField(
        source="token_key", read_only=True, help_text="the token's first characters; revoke by it"
    )
    created = serializers.DateTimeField(read_only=True)
    expiry = serializers.DateTimeField(read_only=True, allow_null=True)
    scopes = serializers.SerializerMethodField(
        help_text="what the token may write; null: unrestricted (its user's roles), []: read-only"
    )
    current = serializers.SerializerMethodField(help_text="the token this request came with")

    def get_scopes(self, token) -> list[str] | None:
        """The grant's scopes, or None for an unrestricted token."""
        grant = getattr(token, "grant", None)
        return grant.scopes if grant else None

    def get_current(self, token) -> bool:
        """Whether the request authenticated with this token."""
        auth = self.context["request"].auth
        return getattr(auth, "digest", None) == token.digest


class TokenRequestSerializer(serializers.Serializer):
    """A new token for yourself: the scopes it is limited to and its lifetime."""

    scopes = BoundedListField(
        max_length=len(TokenScope.choices),
        child=serializers.ChoiceField(choices=TokenScope.choices),
        allow_empty=True,
        help_text="what it may write ([] makes a read-only token); within your roles",
    )
    days = serializers.IntegerField(
        min_value=1,
        max_value=settings.TOKEN_TTL_DAYS or None,  # 0: tokens may live until revoked
        required=False,
        help_text="lifetime; default and most BALLAST_TOKEN_TTL_DAYS (30 unless set)",
    )


class CreatedTokenSerializer(TokenSerializer):
    """A new token with its secret, shown this once."""

    token = serializers.CharField(read_only=True, help_text="send as `Authorization: Token <..>`")
