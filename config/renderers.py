"""The browsable API, aware that one path can serve a query (GET) and a command (POST)."""

from rest_framework.renderers import BrowsableAPIRenderer

# The attribute `config.routing` sets on a request: its path's {METHOD: view function}.
ROUTE_VIEWS = "route_views"


class CommandAwareBrowsableAPIRenderer(BrowsableAPIRenderer):
    """Show a command's POST forms on the page of the query that shares its path.

    `GET /api/orders/` is the read side's list view; `POST /api/orders/` is the write
    side's PlaceOrder view. DRF only offers forms for the rendering view's own methods,
    so without this the browsable API could not place an order.
    """

    def get_rendered_html_form(self, data, view, method, request):
        return super().get_rendered_html_form(data, self._view_for(view, method), method, request)

    def get_raw_data_form(self, data, view, method, request):
        return super().get_raw_data_form(data, self._view_for(view, method), method, request)

    @staticmethod
    def _view_for(view, method: str):
        """Return the view that serves `method` on this request's path (`view` if it does)."""
        if method in view.allowed_methods:
            return view
        request = getattr(view, "request", None)
        function = (getattr(request, ROUTE_VIEWS, None) or {}).get(method)
        view_class = getattr(function, "view_class", None)
        if view_class is None:
            return view
        sibling = view_class(**getattr(function, "view_initkwargs", {}))
        sibling.setup(request._request, *view.args, **view.kwargs)
        sibling.request, sibling.format_kwarg, sibling.headers = request, None, {}
        return sibling
