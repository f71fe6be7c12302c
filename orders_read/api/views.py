"""The read side's halves of the API's ViewSets: GET actions, each dispatching one query."""

import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from .. import queries
from ..pagination import Page
from . import docs
from . import serializers as out

if TYPE_CHECKING:
    from ..bus import QueryBus


class QueryActions:
    """Dispatch one query per GET; every answer of the bus carries X-Read-Position.

    The composed ViewSet sets `query_bus` (the API's composition root does).
    """

    query_bus: Callable[[], "QueryBus"]
    # The query each GET action asks: an error before asking it (401, 400, 429) still
    # reports the position of the read models that query reads.
    queries_asked: dict[str, type[queries.Query]] = {}

    def handle_exception(self, exc: Exception) -> Response:
        """Answer the error; a query's answer reports the read position, bus or no bus."""
        response = super().handle_exception(exc)
        query_type = self.queries_asked.get(self.action)
        if (
            self.request.method in ("GET", "HEAD")
            and query_type is not None
            and queries.READ_POSITION_HEADER not in response
        ):
            try:
                position = self.query_bus().position(query_type)
            except DatabaseError:  # the read database is down: the answer says so already
                return response
            response[queries.READ_POSITION_HEADER] = str(position)
        return response

    def ask(self, query: queries.Query) -> queries.QueryResult:
        """Dispatch the query; its errors carry their own status, type and headers."""
        return self.query_bus().dispatch(query)

    def answer(self, result: queries.QueryResult, data: Any, **headers: str) -> Response:
        headers[queries.READ_POSITION_HEADER] = str(result.read_position)
        return Response(data, headers=headers)


def viewer(request: Request) -> queries.Viewer:
    return queries.Viewer(request.user.get_username(), request.user.is_staff)


def params(
    request: Request, input_serializer: type[serializers.Serializer] = out.ReadInput
) -> dict[str, Any]:
    """Return the validated query parameters, as the query's keyword arguments; 400 if invalid."""
    serializer = input_serializer(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def page_body(request: Request, page: Page) -> dict[str, Any]:
    """Render a page as {next, previous, results}, with absolute links."""
    url = request.build_absolute_uri()

    def link(cursor: str | None) -> str | None:
        return None if cursor is None else replace_query_param(url, "cursor", cursor)

    return {
        "next": link(page.next_cursor),
        "previous": link(page.previous_cursor),
        "results": out.OrderOutput(page.rows, many=True).data,
    }


def as_of_headers(result: queries.QueryResult) -> dict[str, str]:
    """Return the headers of an as_of answer: the last log position it includes."""
    return {queries.AS_OF_POSITION_HEADER: str(result.value.position)}


def etag_matches(header: str | None, etag: str) -> bool:
    """Tell whether If-None-Match names the current ETag (weakly compared, or *)."""
    if not header:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag in [tag.removeprefix("W/") for tag in tags]


class OrderQueries(QueryActions):
    """The queries on orders: the list, one order, and its history."""

    queries_asked = {
        "list": queries.ListOrders,
        "retrieve": queries.GetOrder,
        "history": queries.GetOrderHistory,
    }

    @docs.order_list
    def list(self, request: Request) -> Response:
        query = queries.ListOrders(viewer=viewer(request), **params(request, out.ListOrdersInput))
        result = self.ask(query)
        return self.answer(result, page_body(request, result.value))

    @docs.order_detail
    def retrieve(self, request: Request, order_id: uuid.UUID) -> Response:
        asked = params(request, out.AsOfInput)
        as_of = asked.pop("as_of", None)
        if as_of is None:
            result = self.ask(queries.GetOrder(viewer=viewer(request), order_id=order_id, **asked))
            order, headers = result.value, {}
        else:
            query = queries.GetOrderAsOf(
                viewer=viewer(request), order_id=order_id, as_of=as_of, **asked
            )
            result = self.ask(query)
            order, headers = result.value.value, as_of_headers(result)
        if getattr(order, "parked", False):
            headers[queries.PARKED_HEADER] = "true"
        # The version names the state, then or now alike: the same ETag and 304 rules.
        headers["ETag"] = f'"{order.version}"'
        if etag_matches(request.headers.get("If-None-Match"), headers["ETag"]):
            headers[queries.READ_POSITION_HEADER] = str(result.read_position)
            return Response(status=304, headers=headers)
        return self.answer(result, out.OrderOutput(order).data, **headers)

    @docs.order_history
    @action(detail=True, methods=["get"])
    def history(self, request: Request, order_id: uuid.UUID) -> Response:
        """List the order's events, from the event log."""
        query = queries.GetOrderHistory(
            viewer=viewer(request), order_id=order_id, **params(request)
        )
        result = self.ask(query)
        return self.answer(result, out.HistoryEventOutput(result.value, many=True).data)


class CustomerQueries(QueryActions):
    """The queries on customers: a summary, and their orders."""

    queries_asked = {
        "retrieve": queries.GetCustomer,
        "orders": queries.ListCustomerOrders,
        "export": queries.ExportCustomerData,
    }

    @docs.customer_detail
    def retrieve(self, request: Request, customer_id: str) -> Response:
        asked = params(request, out.AsOfInput)
        as_of = asked.pop("as_of", None)
        if as_of is not None:
            query = queries.GetCustomerAsOf(
                viewer=viewer(request), customer_id=customer_id, as_of=as_of, **asked
            )
            result = self.ask(query)
            data = out.CustomerOutput(result.value.value).data
            return self.answer(result, data, **as_of_headers(result))
        query = queries.GetCustomer(viewer=viewer(request), customer_id=customer_id, **asked)
        result = self.ask(query)
        return self.answer(result, out.CustomerOutput(result.value).data)

    @docs.customer_order_list
    @action(detail=True, methods=["get"])
    def orders(self, request: Request, customer_id: str) -> Response:
        """List the customer's orders, newest first."""
        query = queries.ListCustomerOrders(
            viewer=viewer(request),
            customer_id=customer_id,
            **params(request, out.CustomerOrdersInput),
        )
        result = self.ask(query)
        return self.answer(result, page_body(request, result.value))

    @docs.customer_export
    @action(detail=True, methods=["get"])
    def export(self, request: Request, customer_id: str) -> Response:
        """Export the customer's orders and events, personal data opened, as a file."""
        query = queries.ExportCustomerData(
            viewer=viewer(request), customer_id=customer_id, **params(request)
        )
        result = self.ask(query)
        name = re.sub(r"[^A-Za-z0-9@.+_-]", "_", customer_id)
        disposition = f'attachment; filename="{name}-export.json"'
        data = out.CustomerExportOutput(result.value).data
        return self.answer(result, data, **{"Content-Disposition": disposition})


class ReportQueries(QueryActions):
    """The reports (staff only)."""

    queries_asked = {
        "product_sales": queries.GetProductSales,
        "daily_sales": queries.GetDailySales,
    }

    @docs.product_sales
    @action(detail=False, methods=["get"], url_path="product-sales")
    def product_sales(self, request: Request) -> Response:
        """Report the sales per SKU, cancelled orders excluded."""
        asked = params(request, out.AsOfInput)
        as_of = asked.pop("as_of", None)
        if as_of is not None:
            query = queries.GetProductSalesAsOf(viewer=viewer(request), as_of=as_of, **asked)
            result = self.ask(query)
            data = out.ProductSalesOutput(result.value.value, many=True).data
            return self.answer(result, data, **as_of_headers(result))
        result = self.ask(queries.GetProductSales(viewer=viewer(request), **asked))
        return self.answer(result, out.ProductSalesOutput(result.value, many=True).data)

    @docs.daily_sales
    @action(detail=False, methods=["get"], url_path="daily-sales")
    def daily_sales(self, request: Request) -> Response:
        """Report orders and net revenue booked per day (UTC) and currency."""
        query = queries.GetDailySales(
            viewer=viewer(request), **params(request, out.DailySalesInput)
        )
        result = self.ask(query)
        return self.answer(result, out.DailySalesOutput(result.value, many=True).data)


class ProjectionQueries(QueryActions):
    """The projections' progress (staff only)."""

    queries_asked = {"list": queries.GetProjectionStatus}

    @docs.projection_status
    def list(self, request: Request) -> Response:
        result = self.ask(queries.GetProjectionStatus(viewer=viewer(request), **params(request)))
        return self.answer(result, out.ProjectionStatusOutput(result.value, many=True).data)
