"""Ordinal's URLs plus the baseline under /baseline/."""

from django.urls import include, path

from config.urls import urlpatterns as ordinal_urlpatterns

urlpatterns = [path("baseline/", include("bench.baseline.urls")), *ordinal_urlpatterns]
