"""Revoking API tokens: knox's logout views, described for the schema.

Tokens are created by an operator (`manage.py create_api_token`), never over HTTP with a password,
so no API endpoint needs the sign-in lockout; these only take a valid token away.
"""

from drf_spectacular.utils import extend_schema
from knox import views as knox_views


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
