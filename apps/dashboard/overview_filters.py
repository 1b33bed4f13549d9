"""The overview's filters from the query string: a bounded date range, a team, a workload."""

from datetime import date, timedelta

from django import forms

from apps.accounts.models import Team
from apps.accounts.roles import reads_all_teams
from apps.workloads.models import Workload

MAX_RANGE_DAYS = 366
MAX_AHEAD_DAYS = 31  # the forecast carries today's plans forward; further out it says nothing
DEFAULT_PAST_DAYS = 30
DEFAULT_AHEAD_DAYS = 7


class OverviewFilterForm(forms.Form):
    """`from`, `to` (ISO dates, UTC days, inclusive), `team`, `workload`, `format` (csv).

    `from` is a Python keyword, so the date fields are added in `__init__` under their
    query-string names.
    """

    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    workload = forms.ModelChoiceField(queryset=Workload.objects.none(), required=False)
    format = forms.ChoiceField(choices=[("", "page"), ("csv", "CSV")], required=False)

    def __init__(self, data, *, user, today: date) -> None:
        super().__init__(data)
        self.today = today
        date_input = forms.DateInput(attrs={"type": "date"})
        self.fields["from"] = forms.DateField(required=False, widget=date_input, label="From")
        self.fields["to"] = forms.DateField(required=False, widget=date_input, label="To")
        self.order_fields(["from", "to", "team", "workload"])
        workloads = Workload.objects.visible_to(user).select_related("team")
        teams = (
            Team.objects.all()
            if reads_all_teams(user)
            else Team.objects.filter(memberships__user=user).distinct()
        )
        self.fields["team"].queryset = teams
        self.fields["team"].empty_label = "every team"
        self.fields["workload"].queryset = workloads
        self.fields["workload"].empty_label = "every workload"
        self.fields["workload"].label_from_instance = lambda w: f"{w.team.slug}/{w.name}"

    def show_range(self) -> None:
        """Put the range in use, defaults included, in the date inputs the page shows again."""
        self.data = self.data.copy()
        for name in ("from", "to"):
            self.data[name] = self.cleaned_data[name].isoformat()

    def clean(self):
        """Defaults for a missing end of the range; the range's order, length and horizon."""
        data = super().clean() or {}
        if "from" not in data or "to" not in data:
            return data  # a date did not parse; its field says why
        past = timedelta(days=DEFAULT_PAST_DAYS - 1)
        first = data["from"] or min(self.today, data["to"] or self.today) - past
        last = data["to"] or max(first, self.today) + timedelta(days=DEFAULT_AHEAD_DAYS)
        if last < first:
            self.add_error("to", f"'to' ({last}) is before 'from' ({first})")
        elif last > self.today + timedelta(days=MAX_AHEAD_DAYS):
            self.add_error(
                "to",
                f"'to' may be at most {MAX_AHEAD_DAYS} days ahead "
                f"({self.today + timedelta(days=MAX_AHEAD_DAYS)}): the forecast "
                "carries today's plans forward, no further",
            )
        elif (last - first).days + 1 > MAX_RANGE_DAYS:
            self.add_error(
                "from",
                f"the range is {(last - first).days + 1} days; at most "
                f"{MAX_RANGE_DAYS} days at a time",
            )
        team, workload = data.get("team"), data.get("workload")
        if team is not None and workload is not None and workload.team_id != team.pk:
            self.add_error(
                "workload", f"{workload.team.slug}/{workload.name} is not in team {team.slug}"
            )
        data["from"], data["to"] = first, last
        return data
