"""Optimization runs: a stored allocation problem solved on the GPU queue.

A CPU worker may serve the queue when no GPU worker listens.
"""

import logging

from django.db import transaction

from apps.kernel.runs import claim_run, finish_run
from apps.kernel.tasks import Queue
from apps.plans.models import OptimizationRun
from optimization.backend import choose_backend
from optimization.pareto import knee_point, pareto_front
from optimization.problem import problem_from_dict
from optimization.solver import solve

log = logging.getLogger(__name__)


def request_optimization(
    *, workload, problem: dict, method: str, seed: int, with_pareto: bool, by
) -> OptimizationRun:
    """Store a validated problem and queue it on the GPU queue (a CPU worker may serve it)."""
    from apps.plans import tasks  # tasks imports this module

    problem_from_dict(problem)  # ValueError naming the field; views check first for a 400
    with transaction.atomic():
        run = OptimizationRun.objects.create(
            workload=workload,
            problem=problem,
            method=method,
            seed=seed,
            with_pareto=with_pareto,
            requested_by=by,
        )
        transaction.on_commit(
            lambda: tasks.run_optimization.apply_async((run.pk,), queue=Queue.GPU.value)
        )
    return run


def execute_optimization_run(run_id: int) -> None:
    """Solve one claimed run; an infeasible problem ends FAILED naming the constraint."""
    if not claim_run(OptimizationRun, run_id):
        return
    run = OptimizationRun.objects.get(pk=run_id)
    try:
        problem = problem_from_dict(run.problem)
        solution = solve(problem, method=run.method, seed=run.seed)
        front = pareto_front(problem, seed=run.seed) if run.with_pareto else []
    except ValueError as exc:  # InfeasibleProblem names the constraint that cannot be met
        finish_run(OptimizationRun, run_id, OptimizationRun.Status.FAILED, message=str(exc))
        return
    except Exception as exc:  # a solver bug must not leave the run RUNNING forever
        log.exception("optimization run %s failed", run_id)
        message = f"internal error ({type(exc).__name__}): {exc}"
        finish_run(OptimizationRun, run_id, OptimizationRun.Status.FAILED, message=message)
        return
    knee = front.index(knee_point(front)) if front else None
    finish_run(
        OptimizationRun,
        run_id,
        OptimizationRun.Status.SUCCEEDED,
        solution=solution.to_dict(),
        pareto=[point.to_dict() for point in front],
        knee_index=knee,
        device=getattr(choose_backend("auto"), "device", "cpu"),
        message=f"{solution.method} {solution.status}: ${solution.cost_usd:.2f} over the horizon",
    )
