"""Create an API token for a user and print it once; only its hash is stored.

Tokens expire after BALLAST_TOKEN_TTL_DAYS (30 by default) unless --days says otherwise. With
--scope (repeatable) the token may write only through those scopes, still within its user's
role; --read-only makes one that writes nothing; with neither it may do what the role allows.
A CI identity gets plans:approve, plans:apply or metrics:delete only here, by naming them.
Owners list and revoke their tokens at /api/v1/auth/tokens/ (and create more there, within their
roles); an administrator deletes any in the admin (Knox: Auth tokens).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import TokenScope
from apps.accounts.tokens import TokenRefused, create_token


class Command(BaseCommand):
    """`manage.py create_api_token ci-bot [--days 90] [--scope metrics:write ...|--read-only]`."""

    help = "Create an API token for USERNAME and print it (it cannot be shown again)."

    def add_arguments(self, parser):
        """Username, lifetime and scopes."""
        parser.add_argument("username")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="lifetime in days (default: BALLAST_TOKEN_TTL_DAYS, 30 unless set)",
        )
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            choices=TokenScope.values,
            help="limit the token to this write (repeatable); for a CI identity, also how it is "
            "given plans:approve, plans:apply or metrics:delete",
        )
        parser.add_argument("--read-only", action="store_true", help="a token that writes nothing")

    def handle(self, *args, username: str, days: int | None, scope: list[str], **options):
        """Create the token and print it alone on stdout, for scripts."""
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"username: no user called {username!r}")
        if options["read_only"] and scope:
            raise CommandError("--read-only and --scope exclude each other")
        scopes = [] if options["read_only"] else (scope or None)
        try:
            _, token = create_token(user=user, scopes=scopes, days=days)
        except TokenRefused as exc:
            raise CommandError(str(exc).replace("days:", "--days")) from exc
        self.stdout.write(token)
