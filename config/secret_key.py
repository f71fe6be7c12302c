"""With DEBUG off, refuse a missing or weak SECRET_KEY: as a system check and at start."""

from django.conf import settings
from django.core import checks
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

WEAK_SECRET_KEY = "ordinal.E001"
HINT = "Set SECRET_KEY to a long random value, e.g. from secrets.token_urlsafe(50)."


def weakness(secret_key: str) -> str | None:
    """Say how `secret_key` is weak by Django's own definition, or return None.

    The rules are those of Django's deploy check security.W009 (its `_check_secret_key`
    is private, so they are restated here with its public constants).
    """
    if not secret_key:
        return "is empty"
    if secret_key.startswith(SECRET_KEY_INSECURE_PREFIX):
        return f"starts with {SECRET_KEY_INSECURE_PREFIX!r}, the mark of a development key"
    if len(secret_key) < SECRET_KEY_MIN_LENGTH:
        return f"has {len(secret_key)} characters, fewer than {SECRET_KEY_MIN_LENGTH}"
    distinct = len(set(secret_key))
    if distinct < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return f"has {distinct} distinct characters, fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS}"
    return None


def secret_key_problem() -> str | None:
    """Return why the configured SECRET_KEY is refused, or None (always None with DEBUG on)."""
    if settings.DEBUG:
        return None
    try:
        secret_key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django itself refuses to hand out an empty one
        secret_key = ""
    reason = weakness(secret_key)
    return f"SECRET_KEY is refused with DEBUG off: it {reason}." if reason else None


def check_secret_key(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Report a refused SECRET_KEY as an Error, where Django's W009 only warns."""
    problem = secret_key_problem()
    return [checks.Error(problem, hint=HINT, id=WEAK_SECRET_KEY)] if problem else []


def refuse_weak_secret_key() -> None:
    """Raise ImproperlyConfigured when the SECRET_KEY is refused (web and worker, at start)."""
    problem = secret_key_problem()
    if problem:
        raise ImproperlyConfigured(f"{problem} {HINT}")
