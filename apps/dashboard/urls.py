"""Page routes."""

from django.urls import path

from apps.dashboard import plan_views, views

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
]
