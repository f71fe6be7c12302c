"""The API's ViewSets, composed from each app's half, and the router that serves them."""

import re

from rest_framework import exceptions, routers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders_read.api.serializers import QueryParametersInput
from orders_read.api.views import CustomerQueries, OrderQueries, ProjectionQueries, ReportQueries
from orders_write.api.command_status import CommandStatusQueries
from orders_write.api.views import CustomerCommands, OrderCommands
from orders_write.inbox.entries import command_get

from . import bootstrap

# The name config/urls.py registers AnyCaseUUIDConverter under.
ANY_CASE_UUID = "anycase_uuid"


class ApiViewSet(viewsets.ViewSet):
    """A ViewSet that refuses a method its URL does not serve before asking who calls."""

    def check_permissions(self, request: Request) -> None:
        # A wrong method is a 405 for anyone, as the Allow header is no secret: DRF would
        # check permissions first and answer an anonymous client 401.
        if not hasattr(self, request.method.lower()):
            raise exceptions.MethodNotAllowed(request.method)
        super().check_permissions(request)


class OrderViewSet(OrderCommands, OrderQueries, ApiViewSet):
    """Orders: POST actions are commands (write side), GET actions queries (read side).

    The read side follows the commands within moments: send `?min_position=` with the
    `position` a command returned to read your own writes.
    """

    lookup_field = "order_id"
    lookup_value_converter = ANY_CASE_UUID
    command_bus = staticmethod(bootstrap.command_bus)
    command_accept = staticmethod(bootstrap.command_accept)
    query_bus = staticmethod(bootstrap.query_bus)


class CustomerViewSet(CustomerCommands, CustomerQueries, ApiViewSet):
    """A customer's summary, orders and data export (that customer or staff); forget (staff)."""

    lookup_field = "customer_id"
    command_bus = staticmethod(bootstrap.command_bus)
    command_accept = staticmethod(bootstrap.command_accept)
    query_bus = staticmethod(bootstrap.query_bus)


class CommandViewSet(CommandStatusQueries, ApiViewSet):
    """Commands sent with `Prefer: respond-async`: their status and outcome (sender or staff)."""

    lookup_field = "command_id"
    lookup_value_converter = ANY_CASE_UUID
    command_get = staticmethod(command_get)

    def check_query_parameters(self, request: Request) -> None:
        """Refuse every query parameter (400 naming it), as the queries do."""
        QueryParametersInput(data=request.query_params).is_valid(raise_exception=True)


class ReportViewSet(ReportQueries, ApiViewSet):
    """Reports over every order, for staff."""

    query_bus = staticmethod(bootstrap.query_bus)


class ProjectionViewSet(ProjectionQueries, ApiViewSet):
    """How far each projection (read model) has got in the event log, for staff."""

    query_bus = staticmethod(bootstrap.query_bus)


class ApiRootView(APIView):
    """The API's resources: follow a link, or fill in a template's `{variable}`."""

    schema = None  # not an operation of the documented API
    permission_classes = [AllowAny]  # it names the resources, nothing more
    resources: dict[str, str] = {}

    def get(self, request: Request) -> Response:
        QueryParametersInput(data=request.query_params).is_valid(raise_exception=True)
        base = request.build_absolute_uri(request.path)
        return Response({name: base + route for name, route in self.resources.items()})


class ApiRouter(routers.DefaultRouter):
    """DRF's router with path converters, no `.json` suffixes, and a root of every resource."""

    include_format_suffixes = False

    def __init__(self) -> None:
        super().__init__(use_regex_path=False)

    def get_api_root_view(self, api_urls=None):
        """List each resource by its first URL: its collection, else its item's template."""
        resources: dict[str, str] = {}
        for pattern in api_urls or []:
            route = str(pattern.pattern)
            resources.setdefault(
                route.split("/", 1)[0], re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
            )
        return ApiRootView.as_view(resources=resources)


def api_router() -> ApiRouter:
    """Return the router of every API resource."""
    router = ApiRouter()
    router.register("orders", OrderViewSet, basename="orders")
    router.register("customers", CustomerViewSet, basename="customers")
    router.register("commands", CommandViewSet, basename="commands")
    router.register("reports", ReportViewSet, basename="reports")
    router.register("projections", ProjectionViewSet, basename="projections")
    return router
