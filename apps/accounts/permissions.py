"""DRF permission classes built on `roles`."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.accounts import roles, scopes


class IsFinOpsOrReadOnly(BasePermission):
    """Anyone signed in reads; FinOps (and superusers) write. Used for the pricing catalog."""

    message = "only FinOps staff may change the pricing catalog"

    def has_permission(self, request, view) -> bool:
        """Reads for all authenticated users, writes for FinOps."""
        if not request.user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or roles.is_finops(request.user)


class CanWriteOwningTeam(BasePermission):
    """Writes to a team's rows need the sre or ci role in that team.

    Querysets already hide other teams' rows (404); this refuses writes by readers such as
    FinOps staff or viewers (403). Creation is checked by the serializer, which knows the team.
    """

    message = "you need the sre or ci role in this workload's team to change it"

    def has_object_permission(self, request, view, obj) -> bool:
        """Reads pass; writes need a write role in the object's team."""
        if request.method in SAFE_METHODS:
            return True
        return roles.can_write_team(request.user, owning_team(obj))


def owning_team(obj):
    """The team a workload or one of its rows belongs to."""
    workload = getattr(obj, "workload", obj)
    return workload.team


class TokenScopesCover(BasePermission):
    """A token limited to scopes writes only through routes its scopes cover.

    Every API view holds this permission (the default, and each view that sets its own);
    `apps.accounts.scopes` says which scope each write route needs. Reads pass; role checks
    stay where they are, so a token never does more than its user's role allows.
    """

    message = "this token's scopes do not cover this request"

    def has_permission(self, request, view) -> bool:
        """Reads, sessions and unrestricted tokens pass; otherwise the route's scope is needed."""
        if request.method in SAFE_METHODS:
            return True
        match = getattr(request, "resolver_match", None)
        url_name = match.url_name if match else None
        if url_name in scopes.UNSCOPED_ROUTES:
            return True
        refusal = roles.token_refusal(request.auth, scopes.scope_for_route(url_name))
        if refusal:
            self.message = refusal
            return False
        return True
