import copy

import pytest
import redis
from django.conf import settings

from apps.plans import services
from apps.plans.models import OptimizationRun
from apps.workloads.tests.factories import WorkloadFactory
from conftest import field_errors
from optimization.problem import problem_to_dict
from optimization.suite import bench_suite


@pytest.fixture(scope="module")
def small_problem():
    return problem_to_dict(next(p for p in bench_suite() if p.name == "small-6x8x2"))


@pytest.fixture
def workload(team_a):
    return WorkloadFactory(team=team_a, name="ranker")


def queue_run(workload, problem, *, method: str, with_pareto: bool) -> OptimizationRun:
    return services.request_optimization(
        workload=workload,
        problem=problem,
        method=method,
        seed=0,
        with_pareto=with_pareto,
        by=workload.team.memberships.first().user,
    )


def submit(client, workload, problem, **fields):
    return client.post(
        "/api/v1/optimization-runs/",
        {"workload": workload.pk, "problem": problem} | fields,
        format="json",
    )


def test_a_submitted_problem_is_solved_with_its_pareto_front(
    sre_a, workload, small_problem, django_capture_on_commit_callbacks
):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("gpu")
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(sre_a, workload, small_problem)
    assert response.status_code == 201, response.data
    assert broker.llen("gpu") == 1  # GA-PSO runs on the gpu queue
    broker.delete("gpu")

    services.execute_optimization_run(response.data["id"])

    run = sre_a.get(f"/api/v1/optimization-runs/{response.data['id']}/").data
    assert run["status"] == "succeeded", run["message"]
    assert run["solution"]["feasible"] and run["solution"]["cost_usd"] > 0
    assert len(run["solution"]["schedule"]) == 6 and run["device"] == "cpu"
    front = run["pareto"]
    costs = [p["cost_usd"] for p in front]
    risks = [p["sla_risk"] for p in front]
    assert costs == sorted(costs) and risks == sorted(risks, reverse=True)  # non-dominated
    assert 0 <= run["knee_index"] < len(front)
    (listed,) = sre_a.get("/api/v1/optimization-runs/").data["results"]
    assert "problem" not in listed and "pareto" not in listed and "solution" not in listed
    assert listed["pareto_size"] == len(front) and listed["status"] == "succeeded"
    solution = run["solution"]
    assert listed["outcome"] == {
        k: solution[k] for k in ("status", "feasible", "cost_usd", "sla_violation_rate")
    }


def test_a_redelivered_run_is_solved_once(sre_a, workload, small_problem):
    run = queue_run(workload, small_problem, method="exact", with_pareto=False)

    services.execute_optimization_run(run.pk)
    first = OptimizationRun.objects.get(pk=run.pk)
    services.execute_optimization_run(run.pk)

    assert OptimizationRun.objects.get(pk=run.pk).finished_at == first.finished_at


def test_an_invalid_problem_is_refused_naming_the_field(sre_a, workload, small_problem):
    problem = copy.deepcopy(small_problem)
    problem["offers"][0]["price_per_hour_usd"] = -1

    response = submit(sre_a, workload, problem)

    assert response.status_code == 400
    assert "price_per_hour_usd" in str(field_errors(response)["problem"])
    assert not OptimizationRun.objects.exists()


def test_an_infeasible_problem_fails_naming_the_constraint(sre_a, workload, small_problem):
    problem = copy.deepcopy(small_problem)
    problem["constraints"] = (problem.get("constraints") or {}) | {"budget_per_hour_usd": 0.01}
    run = queue_run(workload, problem, method="gapso", with_pareto=True)

    services.execute_optimization_run(run.pk)

    run.refresh_from_db()
    assert run.status == "failed" and "budget_per_hour_usd" in run.message


def test_another_team_cannot_submit_or_read_runs(sre_a, sre_b, workload, small_problem):
    run = queue_run(workload, small_problem, method="exact", with_pareto=False)

    assert submit(sre_b, workload, small_problem).status_code == 400
    assert sre_b.get(f"/api/v1/optimization-runs/{run.pk}/").status_code == 404
