"""Create an API token for a user and print it once; only its hash is stored.

Tokens expire after BALLAST_TOKEN_TTL_DAYS (30 by default) unless --days says otherwise; their
owner revokes one with `POST /api/v1/auth/logout/` (the token sent) or all of theirs with
`POST /api/v1/auth/logout-all/`, and an administrator deletes any in the admin (Knox: Auth tokens).
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken

from apps.accounts.models import TokenGrant, TokenScope


class Command(BaseCommand):
    """`manage.py create_api_token ci-bot [--days 90] [--scope plans:approve ...]`."""

    help = "Create an API token for USERNAME and print it (it cannot be shown again)."

    def add_arguments(self, parser):
        """Username and optional lifetime."""
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
            help="a power beyond the user's role, e.g. plans:approve for a CI token (repeatable)",
        )

    def handle(self, *args, username: str, days: int | None, scope: list[str], **options):
        """Create the token and print it alone on stdout, for scripts."""
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"username: no user called {username!r}")
        if days is not None and days <= 0:
            raise CommandError(f"--days must be > 0, got {days}")
        if days is None:
            instance, token = AuthToken.objects.create(user)  # knox's TOKEN_TTL
        else:
            instance, token = AuthToken.objects.create(user, expiry=timedelta(days=days))
        if scope:
            TokenGrant.objects.create(token=instance, scopes=sorted(set(scope)))
        self.stdout.write(token)
