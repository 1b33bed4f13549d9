"""Workloads API routes."""

from rest_framework.routers import DefaultRouter

from apps.workloads.api import views

router = DefaultRouter()
router.register("workloads", views.WorkloadViewSet, basename="workload")
router.register("slas", views.SLAViewSet, basename="sla")
router.register("model-variants", views.ModelVariantViewSet, basename="modelvariant")
router.register("deployment-targets", views.DeploymentTargetViewSet, basename="deploymenttarget")
router.register("metric-observations", views.MetricObservationViewSet, basename="metricobservation")
router.register("metric-sources", views.MetricSourceViewSet, basename="metricsource")
router.register("trace-imports", views.TraceImportViewSet, basename="traceimport")
urlpatterns = router.urls
