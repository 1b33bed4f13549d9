"""Admin: operators grant each team the identity its actuators act as."""

from django.contrib import admin

from apps.actuation.models import TeamCredentials
from apps.kernel.admin import AuditedAdmin


@admin.register(TeamCredentials)
class TeamCredentialsAdmin(AuditedAdmin):
    """One row per team: an IAM role, a kubeconfig context or a ServiceAccount, by name."""

    list_display = ["team", "aws_role_arn", "kube_context", "kube_service_account", "updated_at"]
    search_fields = ["team__slug", "aws_role_arn", "kube_context", "kube_service_account"]
    autocomplete_fields = ["team"]
