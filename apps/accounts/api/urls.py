"""Accounts API routes: the caller's tokens."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.accounts.api import views

router = SimpleRouter()
router.register("auth/tokens", views.TokenViewSet, basename="token")
urlpatterns = [
    path("auth/logout/", views.RevokeTokenView.as_view(), name="token-revoke"),
    path("auth/logout-all/", views.RevokeAllTokensView.as_view(), name="token-revoke-all"),
    *router.urls,
]
