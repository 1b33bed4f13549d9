"""Control API routes."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.control.api import views

router = DefaultRouter()
router.register("controllers", views.ControllerViewSet, basename="controller")
router.register("control-decisions", views.ControlDecisionViewSet, basename="controldecision")
urlpatterns = [
    *router.urls,
    path(
        "workloads/<int:pk>/observations/delete/",
        views.ObservationDeletionView.as_view(),
        name="workload-observations-delete",
    ),
]
