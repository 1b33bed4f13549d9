"""Admin for teams and memberships."""

from django.contrib import admin

from apps.accounts.models import Team, TeamMembership
from apps.kernel.admin import AuditedAdmin


class MembershipInline(admin.TabularInline):
    """Members of a team, edited on the team's page."""

    model = TeamMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    """Teams with their members inline."""

    list_display = ["slug", "name", "prometheus_token_envs"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]
