"""Control API routes."""

from rest_framework.routers import DefaultRouter

from apps.control.api import views

router = DefaultRouter()
router.register("controllers", views.ControllerViewSet, basename="controller")
router.register("control-decisions", views.ControlDecisionViewSet, basename="controldecision")
urlpatterns = router.urls
