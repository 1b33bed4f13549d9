"""What a plan is made for.

Its forecast (a fresh enough stored one, else one computed now), or, for a new workload with
too little history, the SLA's peak.
"""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from apps.forecasts import services as forecast_services
from apps.forecasts.models import ForecastRun
from apps.plans.lifecycle import fail_plan
from apps.plans.models import PlanStatus, ScalingPlan
from apps.workloads.models import MetricObservation, Workload
from forecasting.base import MIN_POINTS
from forecasting.bounds import AFTER_NOW_S
from optimization.planning import demand_from_forecast, peak_demand
from optimization.problem import DemandForecast

S = PlanStatus


def prepare_forecast(plan_id: int) -> bool:
    """Give a draft plan its forecast, computing one in this process if it needs one.

    Returns False (and fails the plan with the forecast's message) when there is none. The
    worker splits the same steps over queues: `forecast_to_compute` on cpu, the run on the
    queue its model needs (`apps.forecasts.services.queue_for`), `forecast_ready` on cpu.
    """
    run_id = forecast_to_compute(plan_id)
    if run_id is not None:
        forecast_services.execute_forecast_run(run_id)
    return forecast_ready(plan_id)


def forecast_to_compute(plan_id: int) -> int | None:
    """The ForecastRun a draft plan still needs computed, attached to it; None if it needs none.

    None when the draft has its forecast (a fresh enough stored one is attached here), needs
    none (a batch plan, made for the SLA's items per run; an onboarding plan, made for the
    SLA's peak), or was failed here (too little history and no peak to plan for). Otherwise a
    new queued run, attached to the plan before it is computed, so that `forecast_ready` finds
    it however the run ends; a run attached earlier and still unfinished is returned again.
    """
    plan = ScalingPlan.objects.select_related("workload__sla", "forecast_run").get(pk=plan_id)
    if plan.status != S.DRAFT or plan.workload.kind == Workload.Kind.BATCH:
        return None
    if plan.forecast_run is not None:
        unfinished = plan.forecast_run.status in UNFINISHED
        return plan.forecast_run_id if unfinished else None
    points = history_points(plan)
    if points < MIN_POINTS:  # a new workload: its onboarding plan needs no forecast
        if sla_peak(plan) is None:
            fail_plan(
                plan_id,
                f"{points} observations of {plan.series!r} are too few to forecast "
                f"({MIN_POINTS} needed): set the SLA's peak_rps to plan a new workload for "
                "the load it is promised at",
            )
        return None
    run = find_forecast(plan)
    if run is not None:
        ScalingPlan.objects.filter(pk=plan_id, forecast_run__isnull=True).update(forecast_run=run)
        return None
    run = ForecastRun.objects.create(
        workload=plan.workload,
        series=plan.series,
        horizon=forecast_steps(plan),
        quantiles=list(PLAN_QUANTILES),
        requested_by=plan.requested_by,
    )
    ScalingPlan.objects.filter(pk=plan_id, forecast_run__isnull=True).update(forecast_run=run)
    return run.pk


def forecast_ready(plan_id: int) -> bool:
    """Whether a draft plan may be posed: its forecast succeeded, or it needs none.

    A draft whose forecast failed, or never finished, fails with the forecast's message.
    """
    plan = ScalingPlan.objects.select_related("forecast_run").get(pk=plan_id)
    if plan.status != S.DRAFT:
        return False
    run = plan.forecast_run
    if run is None or run.status == ForecastRun.Status.SUCCEEDED:
        return True
    if run.status in UNFINISHED:
        fail_plan(plan_id, f"forecast {run.pk} did not finish (still {run.status})")
    else:
        fail_plan(plan_id, f"forecast {run.pk} failed: {run.message}")
    return False


UNFINISHED = (ForecastRun.Status.QUEUED, ForecastRun.Status.RUNNING)
PLAN_QUANTILES = (0.5, 0.9, 0.99)


FORECAST_MAX_AGE = timedelta(hours=1)


def history_points(plan: ScalingPlan) -> int:
    """Observations of the plan's series, counted up to the fewest a forecast needs."""
    rows = MetricObservation.objects.filter(workload=plan.workload, series=plan.series)
    return rows[:MIN_POINTS].count()


def sla_peak(plan: ScalingPlan) -> float | None:
    """The `peak_rps` of the plan's workload's SLA, if it names one."""
    sla = getattr(plan.workload, "sla", None)
    return None if sla is None else sla.peak_rps


def plan_demand(plan: ScalingPlan) -> tuple[DemandForecast, datetime]:
    """(the demand per interval, the first interval's start) of a draft (`demand_source`).

    From its forecast's quantiles; for an onboarding plan (`prepare_forecast` left it without a
    forecast: too little history), every interval at the SLA's peak from the current interval on.

    Raises:
        ValueError: the forecast does not cover an interval, or the SLA's peak is gone.
    """
    run = plan.forecast_run
    if run is None:
        peak = sla_peak(plan)
        if peak is None:
            raise ValueError("the SLA's peak_rps was removed while the plan was made")
        now = timezone.now().timestamp()
        start = datetime.fromtimestamp(now - now % plan.interval_s, tz=UTC)
        return peak_demand(peak, plan.horizon_intervals), start
    demand = demand_from_forecast(
        {float(q): v for q, v in run.quantile_values.items()},
        step_s=run.interval_s,
        interval_s=plan.interval_s,
        counts=True,
    )
    rps = tuple(series[: plan.horizon_intervals] for series in demand.rps)
    return DemandForecast(demand.levels, rps), run.start


def demand_source(plan: ScalingPlan) -> str:
    """What a posed plan's demand came from, for its reason."""
    if plan.forecast_run_id is not None:
        return f"forecast {plan.forecast_run_id}"
    peak = plan.problem["demand"]["rps"][0][0]
    return (
        f"onboarding plan (fewer than {MIN_POINTS} observations to forecast): every interval "
        f"sized for the SLA's peak of {peak:g} rps"
    )


def find_forecast(plan: ScalingPlan) -> ForecastRun | None:
    """A recent succeeded forecast that starts after the newest observation and fits the plan.

    Recent: from the last hour; fits: covers the horizon, with the plan's quantiles, at a step
    that divides the planning interval. Observations over an hour ahead of the clock (strays
    stored before such points were refused) do not count as the newest.
    """
    latest = (
        MetricObservation.objects.filter(
            workload=plan.workload,
            series=plan.series,
            ts__lte=timezone.now() + timedelta(seconds=AFTER_NOW_S),
        )
        .order_by("-ts")
        .values_list("ts", flat=True)
        .first()
    )
    if latest is None:
        return None
    candidates = ForecastRun.objects.filter(
        workload=plan.workload,
        series=plan.series,
        status=ForecastRun.Status.SUCCEEDED,
        created_at__gte=timezone.now() - FORECAST_MAX_AGE,
        start__gt=latest,
    ).order_by("-created_at")
    horizon_s = plan.interval_s * plan.horizon_intervals
    for run in candidates[:10]:
        levels = {float(q) for q in run.quantile_values or {}}
        if (
            plan.interval_s % run.interval_s == 0
            and run.horizon * run.interval_s >= horizon_s
            and set(PLAN_QUANTILES) <= levels
        ):
            return run
    return None


def forecast_steps(plan: ScalingPlan) -> int:
    """Forecast steps covering the plan's horizon at the series' own step (median spacing)."""
    recent = list(
        MetricObservation.objects.filter(workload=plan.workload, series=plan.series)
        .order_by("-ts")
        .values_list("ts", flat=True)[:11]
    )
    gaps = sorted((a - b).total_seconds() for a, b in zip(recent, recent[1:], strict=False))
    step = int(gaps[len(gaps) // 2]) if gaps else plan.interval_s
    step = step if step > 0 and plan.interval_s % step == 0 else plan.interval_s
    return plan.interval_s * plan.horizon_intervals // step
