"""Serve the write side's POST and the read side's GET on the same API paths."""

from collections.abc import Callable, Mapping

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
    return [path(route, by_method(views)) for route, views in merged.items()]
