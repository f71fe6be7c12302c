"""URL configuration: the API under /api/, the admin, health checks and metrics."""

from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .api import ANY_CASE_UUID, api_router
from .converters import AnyCaseUUIDConverter
from .health import healthz, readyz
from .metrics_view import MetricsView
from .openapi import DocumentedObtainAuthToken

register_converter(AnyCaseUUIDConverter, ANY_CASE_UUID)

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/auth/token/", DocumentedObtainAuthToken.as_view(), name="api-token"),
    path("api/auth/", include("rest_framework.urls")),
    path("api/", include(api_router().urls)),
    path("admin/", admin.site.urls),
]
