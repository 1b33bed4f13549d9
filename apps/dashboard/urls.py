"""Page routes."""

from django.urls import path

from apps.dashboard import (
    control_views,
    observation_views,
    overview_views,
    plan_views,
    views,
    what_if_views,
)

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("workloads/<int:workload_id>/plans/", plan_views.workload_plans, name="workload-plans"),
    path(
        "workloads/<int:workload_id>/plans/request/",
        plan_views.request_plan,
        name="request-plan",
    ),
    path("plans/<int:plan_id>/", plan_views.plan_detail, name="plan"),
    path(
        "plans/<int:plan_id>/<str:decision>/",
        plan_views.decide,
        name="plan-decide",
    ),
    path("overview/", overview_views.overview, name="overview"),
    path("overview/savings/", overview_views.refresh_savings, name="refresh-savings"),
    path("workloads/<int:workload_id>/", views.workload_detail, name="workload"),
    path(
        "workloads/<int:workload_id>/control/",
        control_views.workload_control,
        name="workload-control",
    ),
    path(
        "workloads/<int:workload_id>/observations/delete/",
        observation_views.delete_observations,
        name="delete-observations",
    ),
    path("what-if/", what_if_views.what_if, name="what-if"),
    path("what-if/<int:run_id>/", what_if_views.what_if_run, name="what-if-run"),
    path("what-if/<int:run_id>/progress/", what_if_views.what_if_progress, name="what-if-progress"),
    path("catalog/", views.catalog, name="catalog"),
]
