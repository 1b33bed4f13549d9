"""Plans API routes."""

from rest_framework.routers import DefaultRouter

from apps.plans.api import views

router = DefaultRouter()
router.register("optimization-runs", views.OptimizationRunViewSet, basename="optimizationrun")
router.register("plans", views.ScalingPlanViewSet, basename="plan")
router.register("guardrails", views.GuardrailViewSet, basename="guardrail")
router.register("plan-schedules", views.PlanScheduleViewSet, basename="planschedule")
router.register("audit-events", views.AuditEventViewSet, basename="auditevent")
urlpatterns = router.urls
