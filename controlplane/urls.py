"""URL routes: pages, admin, the REST API under /api/v1/, its schema and docs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.kernel import problems

api_v1 = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.catalog.api.urls")),
    path("", include("apps.workloads.api.urls")),
    path("", include("apps.forecasts.api.urls")),
    path("", include("apps.plans.api.urls")),
    path("", include("apps.control.api.urls")),
    path("", include("apps.webhooks.api.urls")),
    path("", include("apps.billing.api.urls")),
]

urlpatterns = [
    path("", include("apps.dashboard.urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        # The split view serves its init script from a URL, so the CSP needs no inline script.
        login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
]

# Under /api/ a URL no route matches, or a fault outside a view, is a problem too.
handler404 = problems.not_found
handler500 = problems.server_error
