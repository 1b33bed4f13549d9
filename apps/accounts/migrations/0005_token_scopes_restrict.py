"""Token scopes now restrict: each old grant keeps what its token could do.

Before, a grant's scopes were powers added to the user's role (plans:approve for a CI token);
now a token with a grant may write only through its scopes. So each existing grant gains every
scope a role gives, which it held before: those outside the CI delegations always, and for users
with no CI membership the delegations too (their role decides those, not the token). A CI token
keeps exactly the delegations it was given. Tokens without a grant are unchanged: unrestricted.
"""

from django.db import migrations

ALL = [
    "workloads:write",
    "targets:write",
    "metrics:write",
    "metrics:delete",
    "forecasts:run",
    "plans:request",
    "plans:choose",
    "plans:approve",
    "plans:apply",
    "guardrails:write",
    "guardrails:approve",
    "webhooks:write",
    "catalog:write",
]
CI_DELEGATED = {"plans:approve", "plans:apply", "metrics:delete"}


def widen_old_grants(apps, schema_editor):
    TokenGrant = apps.get_model("accounts", "TokenGrant")
    TeamMembership = apps.get_model("accounts", "TeamMembership")
    for grant in TokenGrant.objects.select_related("token"):
        is_ci = TeamMembership.objects.filter(user_id=grant.token.user_id, role="ci").exists()
        given = [s for s in ALL if s not in CI_DELEGATED or not is_ci or s in grant.scopes]
        grant.scopes = sorted(set(grant.scopes) | set(given))
        grant.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_team_target_references"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(widen_old_grants, migrations.RunPython.noop)]
