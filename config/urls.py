"""URL configuration: the API under /api/, the admin, and health checks."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from orders_read.urls import routes as read_routes
from orders_write.urls import routes as write_routes

from .health import healthz, readyz
from .openapi import DocumentedObtainAuthToken
from .routing import merge_routes

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(urlconf="config.schema_urls"),
        name="schema",
    ),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/auth/token/", DocumentedObtainAuthToken.as_view(), name="api-token"),
    path("api/auth/", include("rest_framework.urls")),
    path("api/", include(merge_routes(write_routes, read_routes))),
    path("admin/", admin.site.urls),
]

handler400 = "config.problems.handler400"
handler403 = "config.problems.handler403"
handler404 = "config.problems.handler404"
handler500 = "config.problems.handler500"
