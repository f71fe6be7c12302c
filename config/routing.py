"""Serve the write side's POST and the read side's GET on the same API paths."""

from collections.abc import Callable, Mapping

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .problems import problem_response

Routes = Mapping[str, Mapping[str, Callable]]


def by_method(views: Mapping[str, Callable]) -> Callable:
    """Return a view that hands each request to the view registered for its method."""
    views = {method.upper(): view for method, view in views.items()}
    if "GET" in views:
        views.setdefault("HEAD", views["GET"])
    allowed = ", ".join(sorted({*views, "OPTIONS"}))

    @csrf_exempt  # each DRF view enforces CSRF itself for session-authenticated requests
    def dispatch(request, *args, **kwargs):
        method = request.method
        if method == "OPTIONS":
            method = next(iter(views))
        view = views.get(method)
        if "text/html" in request.headers.get("Accept", ""):
            # For the browsable API: a query's page also shows the path's command forms.
            request.route_views = views
            if view is None:
                # Let DRF answer the 405: its browsable page shows the POST form.
                view = views.get("POST")
        if view is None:
            response = problem_response(
                request, 405, f'Method "{request.method}" not allowed.', "method-not-allowed"
            )
            response["Allow"] = allowed
            return response
        return view(request, *args, **kwargs)

    return dispatch


def merge_routes(*sides: Routes) -> list:
    """Build URL patterns from each side's {route: {method: view}} table."""
    merged: dict[str, dict[str, Callable]] = {}
    for side in sides:
        for route, views in side.items():
            merged.setdefault(route, {}).update(views)
    patterns = [path(route, by_method(views)) for route, views in merged.items()]
    # Without these, APPEND_SLASH answers a POST to ".../cancel" with a 500 under DEBUG
    # and with a 301 otherwise, which clients follow as a GET.
    patterns += [path(route.rstrip("/"), add_slash) for route in merged if route.endswith("/")]
    return patterns


@csrf_exempt
def add_slash(request, *args, **kwargs) -> HttpResponse:
    """Redirect to the same path with its trailing slash, keeping the method and body (308)."""
    query = request.META.get("QUERY_STRING", "")
    location = request.path + "/" + (f"?{query}" if query else "")
    return HttpResponse(status=308, headers={"Location": location})


def schema_patterns(*sides: Routes) -> list:
    """One URL pattern per view, so the OpenAPI generator sees each side's DRF views."""
    from .openapi import DocumentedObtainAuthToken

    return [path("api/auth/token/", DocumentedObtainAuthToken.as_view())] + [
        path(f"api/{route}", view)
        for side in sides
        for route, views in side.items()
        for view in views.values()
    ]
