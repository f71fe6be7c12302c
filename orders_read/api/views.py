"""Query views: read the parameters, dispatch one query, render its result."""

import uuid
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from config.bootstrap import query_bus
from config.problems import ProblemError

from .. import queries
from ..pagination import Page
from . import docs
from . import serializers as out

READ_POSITION = "X-Read-Position"
RETRY_AFTER_SECONDS = "1"


class QueryView(APIView):
    """GET one query; every answer of the bus, errors included, carries X-Read-Position."""

    input_serializer: type[serializers.Serializer] = out.ReadInput

    def params(self, request: Request) -> dict[str, Any]:
        """Return the validated query parameters; 400 on invalid ones."""
        serializer = self.input_serializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def ask(self, query: queries.Query) -> queries.QueryResult:
        """Dispatch the query, turning the read side's errors into problem responses."""
        try:
            return query_bus().dispatch(query)
        except queries.ReadModelBehind as exc:
            raise ProblemError(
                503,
                "read-model-behind",
                str(exc),
                Retry_After=RETRY_AFTER_SECONDS,
                X_Read_Position=str(exc.position),
            ) from None
        except queries.QueryError as exc:
            headers = {"X_Read_Position": str(exc.read_position)}
            if isinstance(exc, queries.NotFound):
                raise ProblemError(404, "not-found", str(exc), **headers) from None
            if isinstance(exc, queries.Forbidden):
                raise ProblemError(403, "permission-denied", str(exc), **headers) from None
            if isinstance(exc, queries.InvalidQuery):
                raise serializers.ValidationError({exc.field: [str(exc)]}) from None
            raise

    def answer(self, result: queries.QueryResult, data: Any, **headers: str) -> Response:
        return Response(data, headers={READ_POSITION: str(result.read_position), **headers})


def viewer(request: Request) -> queries.Viewer:
    return queries.Viewer(request.user.get_username(), request.user.is_staff)


@docs.order_list
class OrderListView(QueryView):
    input_serializer = out.ListOrdersInput

    def get(self, request: Request) -> Response:
        result = self.ask(queries.ListOrders(viewer=viewer(request), **self.params(request)))
        return self.answer(result, page_body(request, result.value))


@docs.customer_order_list
class CustomerOrderListView(QueryView):
    input_serializer = out.CustomerOrdersInput

    def get(self, request: Request, customer_id: str) -> Response:
        query = queries.ListCustomerOrders(
            viewer=viewer(request), customer_id=customer_id, **self.params(request)
        )
        result = self.ask(query)
        return self.answer(result, page_body(request, result.value))


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


@docs.order_detail
class OrderDetailView(QueryView):
    def get(self, request: Request, order_id: uuid.UUID) -> Response:
        result = self.ask(
            queries.GetOrder(viewer=viewer(request), order_id=order_id, **self.params(request))
        )
        etag = f'"{result.value.version}"'
        if etag_matches(request.headers.get("If-None-Match"), etag):
            response = Response(status=304)
            response["ETag"] = etag
            response[READ_POSITION] = str(result.read_position)
            return response
        return self.answer(result, out.OrderOutput(result.value).data, ETag=etag)


def etag_matches(header: str | None, etag: str) -> bool:
    """Tell whether If-None-Match names the current ETag (weakly compared, or *)."""
    if not header:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag in [tag.removeprefix("W/") for tag in tags]


@docs.order_history
class OrderHistoryView(QueryView):
    def get(self, request: Request, order_id: uuid.UUID) -> Response:
        query = queries.GetOrderHistory(
            viewer=viewer(request), order_id=order_id, **self.params(request)
        )
        result = self.ask(query)
        return self.answer(result, out.HistoryEventOutput(result.value, many=True).data)


@docs.customer_detail
class CustomerView(QueryView):
    def get(self, request: Request, customer_id: str) -> Response:
        query = queries.GetCustomer(
            viewer=viewer(request), customer_id=customer_id, **self.params(request)
        )
        result = self.ask(query)
        return self.answer(result, out.CustomerOutput(result.value).data)


@docs.product_sales
class ProductSalesView(QueryView):
    def get(self, request: Request) -> Response:
        result = self.ask(queries.GetProductSales(viewer=viewer(request), **self.params(request)))
        return self.answer(result, out.ProductSalesOutput(result.value, many=True).data)


@docs.projection_status
class ProjectionStatusView(QueryView):
    def get(self, request: Request) -> Response:
        result = self.ask(
            queries.GetProjectionStatus(viewer=viewer(request), **self.params(request))
        )
        return self.answer(result, out.ProjectionStatusOutput(result.value, many=True).data)
