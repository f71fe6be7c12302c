"""Request middleware: a correlation id, slash redirects that keep the method, API error pages."""

import re
import time

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseRedirectBase
from django.middleware import common
from django.utils.http import escape_leading_slashes

from .logging import NO_CORRELATION_ID, correlation_id, new_correlation_id
from .metrics import query_observed
from .problems import page_problem

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")
# Paths whose clients are programs: their errors are problem documents, not pages.
API_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics")
QUERY_METHODS = ("GET", "HEAD")
JSON_TYPES = ("application/json", "application/problem+json")


class RequestIdMiddleware:
    """Take the client's X-Request-ID (or make one) and echo it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request.correlation_id = (
            given if _VALID_REQUEST_ID.fullmatch(given) else new_correlation_id()
        )
        # Kept past the view: Django logs a 4xx or 5xx after the middleware has returned,
        # gunicorn its access line after the response is sent. `request_finished` ends it.
        correlation_id.set(request.correlation_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.correlation_id
        return response


class QueryMetricsMiddleware:
    """Count and time each GET under /api/ by endpoint (its URL name) and status.

    One counter and one histogram update in this process's metric files: no query.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in QUERY_METHODS or not request.path_info.startswith("/api/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        # The URL's name, not its path: an order id in a label would be one series per order.
        endpoint = (match.view_name or "unnamed") if match is not None else "unmatched"
        query_observed(endpoint, response.status_code, time.perf_counter() - started)
        return response


class PermanentRedirectKeepingMethod(HttpResponseRedirectBase):
    status_code = 308


class CommonMiddleware(common.CommonMiddleware):
    """Django's CommonMiddleware, redirecting a missing trailing slash with a 308.

    Django's 301 turns a POST into a GET, so under DEBUG it refuses (a 500) to
    redirect one; a 308 keeps the method and the body, for every method.
    """

    response_redirect_class = PermanentRedirectKeepingMethod

    def get_full_path_with_slash(self, request: HttpRequest) -> str:
        return escape_leading_slashes(request.get_full_path(force_append_slash=True))


class ApiProblemsMiddleware:
    """Answer an API error that Django rendered as a page with a problem document instead.

    DRF views answer problems themselves; this covers the rest: an unmatched URL, an
    error raised by a middleware, and Django's DEBUG pages (whose 404 lists every URL
    pattern). A client that prefers HTML (a browser) keeps the page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith(API_PREFIXES)
            and not response.get("Content-Type", "").startswith(JSON_TYPES)
            and request.get_preferred_type(["application/json", "text/html"]) != "text/html"
        ):
            return _as_problem(response)
        return response


def _as_problem(page: HttpResponse) -> HttpResponse:
    problem = page_problem(page.status_code)
    for name, value in page.items():  # e.g. Allow on a 405, X-Frame-Options
        if name.lower() not in ("content-type", "content-length"):
            problem[name] = value
    problem.cookies = page.cookies
    return problem


@receiver(request_finished)
def correlation_id_cleared(**kwargs) -> None:
    """Log what follows a request (its response closed) under no request's id."""
    correlation_id.set(NO_CORRELATION_ID)
