"""Which token scope each write route of the API needs: the one registry.

Keys are URL names (the router's `<basename>-list`, `<basename>-detail`, `<basename>-<action>`).
Reads (GET, HEAD, OPTIONS) need no scope. A write to a route named nowhere here is refused to
every token that holds scopes, so a new route stays closed to restricted tokens until it is
listed; `apps.accounts.tests.test_token_scopes` fails while any write route is missing.
"""

from apps.accounts.models import TokenScope as S

# Routes whose every write needs the same scope: `<basename>-list` and `<basename>-detail`.
RESOURCE_SCOPES: dict[str, S] = {
    "workload": S.WORKLOADS_WRITE,
    "sla": S.WORKLOADS_WRITE,
    "modelvariant": S.WORKLOADS_WRITE,
    "deploymenttarget": S.TARGETS_WRITE,
    "metricsource": S.METRICS_WRITE,
    "traceimport": S.METRICS_WRITE,
    "forecastrun": S.FORECASTS_RUN,
    "optimizationrun": S.PLANS_REQUEST,
    "plan": S.PLANS_REQUEST,
    "planschedule": S.PLANS_REQUEST,
    "guardrail": S.GUARDRAILS_WRITE,
    "webhook": S.WEBHOOKS_WRITE,
    "provider": S.CATALOG_WRITE,
    "region": S.CATALOG_WRITE,
    "instancetype": S.CATALOG_WRITE,
    "offer": S.CATALOG_WRITE,
    "serverlessoffer": S.CATALOG_WRITE,
}
# Actions and single routes, by URL name.
ROUTE_SCOPES: dict[str, S] = {
    "workload-metrics": S.METRICS_WRITE,
    "metricsource-pull": S.METRICS_WRITE,
    "workload-observations-delete": S.DELETE_OBSERVATIONS,
    "plan-choose": S.PLANS_CHOOSE,
    "plan-approve": S.APPROVE_PLANS,
    "plan-reject": S.APPROVE_PLANS,
    "plan-apply": S.APPLY_PLANS,
    "plan-rollback": S.APPLY_PLANS,
    "guardrailchange-approve": S.GUARDRAILS_APPROVE,
    "guardrailchange-reject": S.GUARDRAILS_APPROVE,
    "webhook-rotate-secret": S.WEBHOOKS_WRITE,
}
# A token's owner manages their tokens with any token: revoking is always allowed, and a new
# token never holds more than the one that made it (`apps.accounts.tokens`).
UNSCOPED_ROUTES = frozenset({"token-revoke", "token-revoke-all", "token-list", "token-detail"})


def scope_for_route(url_name: str | None) -> S | None:
    """The scope a write to the route `url_name` needs; None when the registry names none."""
    if url_name is None:
        return None
    if url_name in ROUTE_SCOPES:
        return ROUTE_SCOPES[url_name]
    for suffix in ("-list", "-detail"):
        if url_name.endswith(suffix):
            return RESOURCE_SCOPES.get(url_name.removesuffix(suffix))
    return None


# The scopes each role can use at all (FinOps is a group, not a team role): a token asked for
# over the API holds only scopes its owner's roles give. CI's delegations are not here.
ROLE_SCOPES: dict[str, frozenset[S]] = {
    "sre": frozenset(S) - {S.CATALOG_WRITE},
    "ci": frozenset(
        {S.WORKLOADS_WRITE, S.TARGETS_WRITE, S.METRICS_WRITE, S.FORECASTS_RUN, S.PLANS_REQUEST}
    ),
    "viewer": frozenset(),
    "finops": frozenset({S.GUARDRAILS_WRITE, S.GUARDRAILS_APPROVE, S.CATALOG_WRITE}),
}
