"""OpenAPI descriptions of the query actions (GET), for drf-spectacular."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from config.openapi import (
    AS_OF_POSITION,
    CONTENT_DISPOSITION,
    ETAG,
    PARKED,
    PROBLEM_DESCRIPTIONS,
    READ_POSITION,
    RETRY_AFTER,
    problems,
)

from . import serializers as out

READ_NOTE = (
    " Every answer carries `X-Read-Position`: the log position the read model had reached. "
    "`?min_position=` waits for it (503 with Retry-After if it does not arrive in time). "
    "While a projection it reads is first being built, it answers 503 with Retry-After."
)
# History reads the event log, which holds every committed event: nothing to wait for.
LOG_READ_NOTE = (
    " It reads the event log itself, never behind: `?min_position=` answers at once, and "
    "`X-Read-Position` is the log's head (its last committed position) as it was read."
)
AS_OF_NOTE = (
    " `?as_of=<ISO 8601>` answers as things stood at that instant: every event recorded at "
    "or before it applied, folded from the event log (never waiting, like a log read), "
    "with `X-As-Of-Position` naming the last position included. An instant without an "
    "offset is UTC."
)
PARAMETERS_NOTE = " A query parameter not listed here is a 400 naming it (DRF's `format` aside)."
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The ETag of a copy you hold, e.g. "3": 304 if the order is still at it.',
)


def documented(
    summary: str,
    response,
    *,
    operation_id: str,
    parameters: list | None = None,
    errors: tuple[int, ...] = (),
    description: str = "",
    reads_log: bool = False,
    as_of: bool = False,
    headers: tuple = (),
):
    """Describe a query action's GET in the OpenAPI schema (`as_of`: it takes ?as_of=)."""
    codes = sorted({400, 401, 429, 503, *errors} - {304})
    responses = {200: response, **problems(*codes)}
    if 304 in errors:
        responses[304] = OpenApiResponse(description=PROBLEM_DESCRIPTIONS[304])
    return extend_schema(
        summary=summary,
        description=description
        + (LOG_READ_NOTE if reads_log else READ_NOTE)
        + (AS_OF_NOTE if as_of else "")
        + PARAMETERS_NOTE,
        operation_id=operation_id,
        parameters=[*(parameters or [out.ReadInput]), READ_POSITION, RETRY_AFTER]
        + ([ETAG] if 304 in errors else [])
        + ([AS_OF_POSITION] if as_of else [])
        + list(headers),
        responses=responses,
        tags=["queries"],
    )


order_list = documented(
    "List orders, newest first",
    out.OrderPageOutput,
    operation_id="orders_list",
    parameters=[out.ListOrdersInput],
    description="Customers see their own orders only; staff see all. Follow `next` and "
    "`previous` for more pages.",
)
customer_order_list = documented(
    "List a customer's orders, newest first",
    out.OrderPageOutput,
    operation_id="customers_orders_list",
    parameters=[out.CustomerOrdersInput],
    errors=(404,),
    description="That customer or staff; others get 404.",
)
customer_export = documented(
    "Export everything recorded about a customer",
    out.CustomerExportOutput,
    operation_id="customers_export_retrieve",
    errors=(404,),
    description="That customer or staff; others get 404 (staff too, for a customer with "
    "nothing recorded). Their orders and every event of them and of their own stream, "
    "personal data (shipping addresses) in clear, or redacted once they are forgotten; "
    "sent as a file (`Content-Disposition: attachment`).",
    headers=(CONTENT_DISPOSITION,),
)
order_detail = documented(
    "Get one order",
    out.OrderOutput,
    operation_id="orders_retrieve",
    parameters=[out.AsOfInput, IF_NONE_MATCH],
    errors=(304, 404),
    description="The owner or staff; others get 404. `ETag` is the order's version (then, "
    "with `as_of`; If-None-Match works alike). With `as_of`, an order not placed yet at "
    "that instant is a 404. `X-Parked: true` marks an order whose events are parked in its "
    "projection: the answer is its last good state.",
    as_of=True,
    headers=(PARKED,),
)
order_history = documented(
    "Get an order's events, from the event log",
    out.HistoryEventOutput(many=True),
    operation_id="orders_history_list",
    errors=(404,),
    description="The owner or staff; others get 404.",
    reads_log=True,
)
customer_detail = documented(
    "Get a customer's summary",
    out.CustomerOutput,
    operation_id="customers_retrieve",
    parameters=[out.AsOfInput],
    errors=(404,),
    description="That customer or staff; others get 404. Totals exclude cancelled orders.",
    as_of=True,
)
product_sales = documented(
    "Report sales per SKU",
    out.ProductSalesOutput(many=True),
    operation_id="reports_product_sales_list",
    parameters=[out.AsOfInput],
    errors=(403,),
    description="Staff only. Cancelled orders are excluded.",
    as_of=True,
)
daily_sales = documented(
    "Report orders and net revenue per day and currency",
    out.DailySalesOutput(many=True),
    operation_id="reports_daily_sales_list",
    parameters=[out.DailySalesInput],
    errors=(403,),
    description="Staff only. One row per day (UTC) and currency that had any order event, "
    "ordered by day then currency. A day books what happened on it: the totals of orders "
    "placed, item changes at their unit price, and minus the totals of orders cancelled "
    "that day (a cancellation is booked the day it happens, not the day of its order). "
    "`since` and `until` (ISO dates, inclusive) and `currency` narrow it.",
)
projection_status = documented(
    "Show each projection's position, lag, parked streams and rebuild progress",
    out.ProjectionStatusOutput(many=True),
    operation_id="projections_list",
    errors=(403,),
    description="Staff only. `status` is `building` (never built yet: its endpoints answer "
    "503), `catching_up`, `up_to_date` or `degraded` (streams parked). `last_error` is the "
    "newest parked stream's error; `rebuild` the active (or else the last) rebuild, verify "
    "or build, with its progress. It answers while a projection is being built.",
)
