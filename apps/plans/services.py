"""Every write to plans, by stage; callers use these names (or the stage's module).

- `apps.plans.optimization_runs`: a stored allocation problem solved on the GPU queue.
- `apps.plans.lifecycle`: the states, `transition` (the only way between them: a row lock and a
  conditional update, an audit event and the plan's webhook), failures, supersession, expiry.
- `apps.plans.demand`: what a plan is made for (its forecast, or the SLA's peak when new).
- `apps.plans.building`: request, pose (problem, front, candidates), measure, propose.
- `apps.plans.decisions`: approve, reject, choose, apply and roll back: who may, and when.
- `apps.plans.scheduling`: plans requested on a schedule.

Each stage imports only the ones listed before it.
"""

from apps.plans.building import (
    batch_reason,
    build_plan,
    measure_part,
    measured_front,
    online_reason,
    pose_batch_plan,
    pose_plan,
    propose_plan,
    request_plan,
    request_plans,
)
from apps.plans.decisions import (
    apply_refusal,
    approvable_check,
    approve_plan,
    auto_approve,
    choose_candidate,
    decision_refusal,
    reject_plan,
    shape_of,
    start_apply,
    start_rollback,
)
from apps.plans.demand import (
    FORECAST_MAX_AGE,
    PLAN_QUANTILES,
    demand_source,
    find_forecast,
    forecast_ready,
    forecast_steps,
    forecast_to_compute,
    history_points,
    plan_demand,
    prepare_forecast,
    sla_peak,
)
from apps.plans.lifecycle import (
    TRANSITIONS,
    WEBHOOK_EVENTS,
    GuardrailBroken,
    PlanConflict,
    PlanError,
    PlanForbidden,
    expire_due_plans,
    expire_if_due,
    fail_plan,
    plan_event,
    plan_ttl,
    supersede_older,
    transition,
)
from apps.plans.optimization_runs import execute_optimization_run, request_optimization
from apps.plans.scheduling import request_scheduled_plans

__all__ = [
    "FORECAST_MAX_AGE",
    "PLAN_QUANTILES",
    "TRANSITIONS",
    "WEBHOOK_EVENTS",
    "GuardrailBroken",
    "PlanConflict",
    "PlanError",
    "PlanForbidden",
    "approvable_check",
    "apply_refusal",
    "approve_plan",
    "auto_approve",
    "batch_reason",
    "build_plan",
    "choose_candidate",
    "decision_refusal",
    "demand_source",
    "execute_optimization_run",
    "expire_due_plans",
    "expire_if_due",
    "fail_plan",
    "find_forecast",
    "forecast_ready",
    "forecast_steps",
    "forecast_to_compute",
    "history_points",
    "measure_part",
    "measured_front",
    "online_reason",
    "plan_demand",
    "plan_event",
    "plan_ttl",
    "pose_batch_plan",
    "pose_plan",
    "prepare_forecast",
    "propose_plan",
    "reject_plan",
    "request_optimization",
    "request_plan",
    "request_plans",
    "request_scheduled_plans",
    "shape_of",
    "sla_peak",
    "start_apply",
    "start_rollback",
    "supersede_older",
    "transition",
]
