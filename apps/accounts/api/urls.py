"""Accounts API routes."""

from django.urls import path

from apps.accounts.api import views

urlpatterns = [
    path("auth/logout/", views.RevokeTokenView.as_view(), name="token-revoke"),
    path("auth/logout-all/", views.RevokeAllTokensView.as_view(), name="token-revoke-all"),
]
