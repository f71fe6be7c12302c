"""System checks for the project's own settings (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning

# Cache backends whose counters are private to one process (or not atomic).
UNSHARED_CACHES = {
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.filebased.FileBasedCache",
}


@register(Tags.security, Tags.caches, deploy=True)
def check_shared_cache(app_configs, **kwargs) -> list[CheckMessage]:
    """Warn when failed-login counters would not be shared by every process."""
    backend = settings.CACHES[getattr(settings, "AXES_CACHE", "default")]["BACKEND"]
    if backend not in UNSHARED_CACHES:
        return []
    return [
        CheckWarning(
            "The cache is not shared between processes: each web worker counts failed "
            "logins on its own, so the lockout limits multiply by the number of workers.",
            hint="Set CACHE_URL to a Redis cache, e.g. redis://127.0.0.1:6379/1.",
            id="ordinal.W001",
        )
    ]
