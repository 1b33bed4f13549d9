"""API tokens by their owner: list, create with scopes, revoke one, this one, or all.

No endpoint takes a password: a person creates their first token signed in to the site (the
session), or an operator does (`manage.py create_api_token`), so no API endpoint needs the
sign-in lockout.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox import views as knox_views
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from apps.accounts import tokens
from apps.accounts.api.serializers import (
    CreatedTokenSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)


@extend_schema(
    request=None,
    responses={204: None},
    description="Revoke the token this request authenticates with (send it as `Token <key>`).",
)
class RevokeTokenView(knox_views.LogoutView):
    """`POST /api/v1/auth/logout/`: the token sent is deleted; later requests with it get 401."""


@extend_schema(
    request=None,
    responses={204: None},
    description="Revoke every API token of the user this request's token belongs to.",
)
class RevokeAllTokensView(knox_views.LogoutAllView):
    """`POST /api/v1/auth/logout-all/`: all of the caller's tokens are deleted."""


class TokenViewSet(viewsets.ViewSet):
    """`/api/v1/auth/tokens/`: your own tokens, never anyone else's."""

    serializer_class = TokenSerializer
    lookup_value_regex = "[^/]+"

    @extend_schema(
        responses=TokenSerializer(many=True),
        description="Your tokens that have not expired, newest first, with their scopes.",
    )
    def list(self, request):
        """The caller's live tokens."""
        rows = tokens.own_tokens(request.user)
        return Response(TokenSerializer(rows, many=True, context={"request": request}).data)

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            201: CreatedTokenSerializer,
            400: OpenApiResponse(description="a lifetime over BALLAST_TOKEN_TTL_DAYS"),
            403: OpenApiResponse(description="a scope beyond your roles or your token"),
        },
        description="Create a token for yourself, limited to `scopes` (within your roles and "
        "the token you call with) and living `days` (at most BALLAST_TOKEN_TTL_DAYS). The "
        "token is in this answer only.",
    )
    def create(self, request):
        """A new token for the caller."""
        form = TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            row, token = tokens.create_own_token(
                user=request.user,
                credential=request.auth,
                scopes=form.validated_data["scopes"],
                days=form.validated_data.get("days"),
            )
        except tokens.ScopesRefused as exc:  # a power the caller lacks: 403, as the role checks
            raise PermissionDenied(str(exc)) from exc
        except tokens.TokenRefused as exc:
            field, _, message = str(exc).partition(": ")
            raise ValidationError({field: [message]}) from exc
        row.token = token
        body = CreatedTokenSerializer(row, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={204: None, 404: OpenApiResponse(description="no token of yours has this id")},
        description="Revoke one of your tokens by its `id`; requests with it then get 401.",
    )
    def destroy(self, request, pk=None):
        """Revoke one of the caller's tokens."""
        if not tokens.revoke_own_token(user=request.user, token_id=pk):
            raise NotFound("no token of yours has this id")
        return Response(status=status.HTTP_204_NO_CONTENT)
