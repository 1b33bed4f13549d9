"""Plans API routes."""

from rest_framework.routers import DefaultRouter

from apps.plans.api import guardrail_views, views

router = DefaultRouter()
router.register("optimization-runs", views.OptimizationRunViewSet, basename="optimizationrun")
router.register("plans", views.ScalingPlanViewSet, basename="plan")
router.register("guardrails", guardrail_views.GuardrailViewSet, basename="guardrail")
router.register(
    "guardrail-changes", guardrail_views.GuardrailChangeViewSet, basename="guardrailchange"
)
router.register("plan-schedules", views.PlanScheduleViewSet, basename="planschedule")
router.register("audit-events", views.AuditEventViewSet, basename="auditevent")
urlpatterns = router.urls
