"""Failed-login lockout: axes' cache handler with a limit per username and one per address."""

import logging
import math
import time

from axes.handlers.cache import AxesCacheHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import (
    get_cache_timeout,
    get_client_cache_keys,
    get_client_username,
    get_lockout_parameters,
)
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

log = logging.getLogger(__name__)


def lock_end_key(counter_key: str) -> str:
    """The cache key holding when the lockout of a counter ends (a Unix time)."""
    return f"{counter_key}-ends"


class LockoutHandler(AxesCacheHandler):
    """Count failed logins in the shared cache; lock out when any counter reaches its limit.

    Axes compares its highest counter with one AXES_FAILURE_LIMIT. DESIGN §9 gives a
    username 10 failures but an address 50 (people behind one address share it), so
    each parameter of AXES_LOCKOUT_PARAMETERS takes its limit from
    ORDINAL_LOGIN_FAILURE_LIMITS. The counting itself is axes'.
    """

    def counters(self, request, credentials: dict | None = None) -> list[tuple[str, int]]:
        """Return (cache key, limit) for each lockout parameter of this attempt."""
        limits = settings.ORDINAL_LOGIN_FAILURE_LIMITS
        keys = get_client_cache_keys(request, credentials)
        parameters = get_lockout_parameters(request, credentials)
        return [(key, limits[name]) for key, name in zip(keys, parameters, strict=True)]

    def reached(self, request, credentials: dict | None = None) -> list[str]:
        """Return the keys of this attempt's counters that are at their limit."""
        counters = self.counters(request, credentials)
        counts = self.cache.get_many([key for key, _ in counters])
        return [key for key, limit in counters if counts.get(key, 0) >= limit]

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        return settings.AXES_LOCK_OUT_AT_FAILURE and bool(self.reached(request, credentials))

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        """Count the failure (axes), then lock out if a counter has just reached its limit."""
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or request.axes_failures_since_start is None:
            return  # not counted: whitelisted, or refused during a lockout
        reached = self.reached(request, credentials)
        if not reached:
            return
        timeout = get_cache_timeout(request)
        ends = time.time() + timeout
        self.cache.set_many({lock_end_key(key): ends for key in reached}, timeout)
        if not request.axes_locked_out:  # axes flags only the counters at AXES_FAILURE_LIMIT
            log.warning("AXES: Locking out after repeated login failures.")
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )

    def seconds_until_unlocked(self, request, credentials: dict | None = None) -> int:
        """Return how long the lockout of this attempt lasts yet (at least 1 second)."""
        cool_off = get_cache_timeout(request)
        reached = self.reached(request, credentials)
        ends = self.cache.get_many([lock_end_key(key) for key in reached])
        now = time.time()
        # An end not recorded (a race between processes at the limit): the whole cool-off.
        remaining = [ends.get(lock_end_key(key), now + cool_off) - now for key in reached]
        return max(1, math.ceil(max(remaining, default=cool_off)))


def seconds_until_unlocked(request, credentials: dict | None = None) -> int:
    """Return the Retry-After of a locked-out attempt, in seconds."""
    return AxesProxyHandler.get_implementation().seconds_until_unlocked(request, credentials)


def locked_out_detail(seconds: int) -> str:
    return f"Too many failed logins: try again in {seconds} seconds."


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """Answer a locked-out login form (admin, browsable API): a 429 page, or a problem."""
    # Imported here: DRF loads config.auth, and so this module, while it imports its views.
    from .problems import problem_response

    seconds = seconds_until_unlocked(request, credentials)
    if request.path.startswith("/api/") and "text/html" not in request.headers.get("Accept", ""):
        response = problem_response(429, "locked-out", locked_out_detail(seconds))
    else:
        context = {
            **admin.site.each_context(request),
            "title": "Too many failed logins",
            "minutes": math.ceil(seconds / 60),
        }
        response = render(request, "ordinal/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
