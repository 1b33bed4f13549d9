"""Pull billing sources now: `manage.py pull_billing [--source NAME] [--since D] [--until D]`.

Days are UTC, `--since` included and `--until` excluded; by default the RESTATED_DAYS before
today, as the daily task pulls them. Exits non-zero if any source's pull failed.
"""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.billing import services
from apps.billing.models import BillingSource
from sources.billing import check_window


def iso_day(raw: str) -> date:
    """A YYYY-MM-DD argument."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"{raw!r} is not a YYYY-MM-DD date") from None


class Command(BaseCommand):
    """`manage.py pull_billing`."""

    help = "Read the bill of one or every billing source for some days and replace their rows."

    def add_arguments(self, parser):
        """--source, --since, --until."""
        parser.add_argument("--source", help="the source's name; default: every source")
        parser.add_argument("--since", type=iso_day, help="first day, YYYY-MM-DD (UTC)")
        parser.add_argument("--until", type=iso_day, help="day after the last, YYYY-MM-DD")

    def handle(self, *args, source=None, since=None, until=None, **options):
        """Pull each source in turn; say what each gave."""
        until = until or timezone.now().date()
        since = since or until - timedelta(days=services.RESTATED_DAYS)
        try:
            check_window(since, until)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        sources = BillingSource.objects.all()
        if source:
            sources = sources.filter(name=source)
            if not sources.exists():
                raise CommandError(f"no billing source is named {source!r}")
        failed = []
        for row in sources:
            pulled = services.pull(source=row, start=since, end=until)
            if pulled.last_error:
                failed.append(pulled.name)
                self.stderr.write(f"{pulled.name}: {pulled.last_error}")
            else:
                count = pulled.costs.filter(day__gte=since, day__lt=until).count()
                self.stdout.write(f"{pulled.name}: {count} cost lines for {since}..{until}")
        if failed:
            raise CommandError(f"pull failed for {', '.join(failed)}")
