"""The query bus: wait for the projections a query reads, then run its one handler."""

import time
from collections.abc import Callable, Mapping
from typing import Any

from eventlog import store

from . import handlers
from .projectors import PROJECTORS
from .queries import (
    ExportCustomerData,
    GetCustomer,
    GetCustomerAsOf,
    GetDailySales,
    GetOrder,
    GetOrderAsOf,
    GetOrderHistory,
    GetProductSales,
    GetProductSalesAsOf,
    GetProjectionStatus,
    ListCustomerOrders,
    ListOrders,
    Query,
    QueryError,
    QueryResult,
    ReadModelBehind,
    ReadModelBuilding,
)
from .replicas import from_a_replica
from .selectors import checkpoint_positions_get

Handler = Callable[[Any], Any]

ORDERS = ("order_view",)

# Each query's handler and the projections it reads; none means it reads the log itself.
QUERY_HANDLERS: dict[type[Query], tuple[Handler, tuple[str, ...]]] = {
    GetOrder: (handlers.get_order, ORDERS),
    ListOrders: (handlers.list_orders, ORDERS),
    ListCustomerOrders: (handlers.list_customer_orders, ORDERS),
    GetCustomer: (handlers.get_customer, ("customer_summary",)),
    ExportCustomerData: (handlers.export_customer_data, ORDERS),
    GetProductSales: (handlers.get_product_sales, ("product_sales",)),
    GetDailySales: (handlers.get_daily_sales, ("daily_sales",)),
    GetOrderHistory: (handlers.get_order_history, ()),
    # As-of answers read the log (and the projections' snapshots), so never wait.
    GetOrderAsOf: (handlers.get_order_as_of, ()),
    GetCustomerAsOf: (handlers.get_customer_as_of, ()),
    GetProductSalesAsOf: (handlers.get_product_sales_as_of, ()),
    GetProjectionStatus: (handlers.get_projection_status, tuple(PROJECTORS)),
}


# Queries about the projections themselves: they answer while one is being built.
ANSWERED_WHILE_BUILDING = (GetProjectionStatus,)


class QueryBus:
    """Dispatch queries to their handlers, honouring read-your-writes (`min_position`)."""

    def __init__(
        self,
        handlers: Mapping[type[Query], tuple[Handler, tuple[str, ...]]],
        *,
        wait_seconds: float,
        poll_seconds: float = 0.05,
    ) -> None:
        self.handlers = dict(handlers)
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds

    def dispatch(self, query: Query) -> QueryResult:
        """Run the query; raise ReadModelBehind if its projections stay behind min_position.

        The whole query, the wait included, reads one database (a read replica, if there
        are any): the position it waits for is the one of the rows it answers from.
        """
        return from_a_replica(lambda: self._dispatch(query))

    def _dispatch(self, query: Query) -> QueryResult:
        handler, projections = self.handlers[type(query)]
        building_refused = not isinstance(query, ANSWERED_WHILE_BUILDING)
        position = self.wait_for(projections, query.min_position, building_refused)
        try:
            value = handler(query)
        except QueryError as exc:
            exc.read_position = position  # for the response's X-Read-Position
            raise
        return QueryResult(value, position)

    def position(self, query_type: type[Query]) -> int:
        """Return how far the read models behind this kind of query have got, without waiting."""
        projections = self.handlers[query_type][1]
        return from_a_replica(lambda: read_position(projections))

    def wait_for(
        self, projections: tuple[str, ...], wanted: int | None, building_refused: bool = True
    ) -> int:
        """Return the projections' position once it reaches `wanted`, polling meanwhile.

        A query that reads the log itself (no projections) never waits: the log holds
        every committed event, so waiting could only be for events not yet written.
        """
        deadline = time.monotonic() + self.wait_seconds
        while True:
            position = read_position(projections, building_refused=building_refused)
            if wanted is None or position >= wanted or not projections:
                return position
            if time.monotonic() >= deadline:
                raise ReadModelBehind(position, wanted)
            time.sleep(self.poll_seconds)


def read_position(projections: tuple[str, ...], *, building_refused: bool = False) -> int:
    """Return how far the slowest projection has got; the log's head for log readers.

    With `building_refused`, raise ReadModelBuilding if one of them was never built
    (has no checkpoint) while the log holds events: its read model is not there yet.
    """
    if not projections:
        return store.head_position()
    positions = checkpoint_positions_get(names=projections)
    missing = [name for name in projections if name not in positions]
    if missing and building_refused and store.head_position() > 0:
        raise ReadModelBuilding(missing)
    return min((positions.get(name, 0) for name in projections), default=0)
