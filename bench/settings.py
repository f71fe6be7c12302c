"""Benchmark settings: Ordinal's settings plus the plain-DRF baseline app and its URLs."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.baseline"]  # noqa: F405
ROOT_URLCONF = "bench.urls"
