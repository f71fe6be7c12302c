"""Queries: what a caller asks the read side, named as questions, and what comes back."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from .filters import OrderFilters

# The response header that tells how far the read model was, on every answer of a query.
READ_POSITION_HEADER = "X-Read-Position"
# The response header of an as_of answer: the last log position the answer includes.
AS_OF_POSITION_HEADER = "X-As-Of-Position"
# The response header of an answer about an order whose stream is parked in its projection.
PARKED_HEADER = "X-Parked"


@dataclass(frozen=True)
class Viewer:
    """Who asks: a customer sees their own orders, staff see everything."""

    username: str
    is_staff: bool = False

    def may_see(self, customer_id: str) -> bool:
        return self.is_staff or self.username == customer_id


@dataclass(frozen=True, kw_only=True)
class Query:
    """Base of every query; `min_position` asks to read at least that far into the log."""

    viewer: Viewer
    min_position: int | None = None


@dataclass(frozen=True, kw_only=True)
class GetOrder(Query):
    order_id: UUID


@dataclass(frozen=True, kw_only=True)
class ListOrders(Query):
    filters: OrderFilters = field(default_factory=OrderFilters)


@dataclass(frozen=True, kw_only=True)
class ListCustomerOrders(ListOrders):
    customer_id: str


@dataclass(frozen=True, kw_only=True)
class GetCustomer(Query):
    customer_id: str


@dataclass(frozen=True, kw_only=True)
class ExportCustomerData(Query):
    """Everything recorded about the customer: their orders and events, personal data opened."""

    customer_id: str


@dataclass(frozen=True, kw_only=True)
class GetProductSales(Query):
    pass


@dataclass(frozen=True, kw_only=True)
class GetDailySales(Query):
    """Orders and net revenue booked per day (UTC) and currency, narrowed by what is given."""

    currency: str | None = None
    since: date | None = None  # the first day, inclusive
    until: date | None = None  # the last day, inclusive


@dataclass(frozen=True, kw_only=True)
class GetOrderAsOf(Query):
    """The order as it was at an instant, folded from its events."""

    order_id: UUID
    as_of: datetime


@dataclass(frozen=True, kw_only=True)
class GetCustomerAsOf(Query):
    """The customer's summary as the caught-up read model showed it at an instant."""

    customer_id: str
    as_of: datetime


@dataclass(frozen=True, kw_only=True)
class GetProductSalesAsOf(Query):
    """The sales report as the caught-up read model showed it at an instant."""

    as_of: datetime


@dataclass(frozen=True, kw_only=True)
class GetOrderHistory(Query):
    order_id: UUID


@dataclass(frozen=True, kw_only=True)
class GetProjectionStatus(Query):
    pass


@dataclass(frozen=True)
class QueryResult:
    """A query's answer and the log position the read model had reached before it."""

    value: Any
    read_position: int


class QueryError(Exception):
    """Base of the errors a query can end with; each names its HTTP status and problem type."""

    status: int = 400
    problem_type: str = "bad-request"
    read_position: int = 0  # set by the query bus: how far the read model was

    @property
    def headers(self) -> dict[str, str]:
        """Return the headers of the error's answer: how far the read model was."""
        return {READ_POSITION_HEADER: str(self.read_position)}


class NotFound(QueryError):
    """Nothing to show: unknown, or not the viewer's."""

    status = 404
    problem_type = "not-found"


class Forbidden(QueryError):
    """The viewer may not ask this (e.g. a staff-only report)."""

    status = 403
    problem_type = "permission-denied"


class InvalidQuery(QueryError):
    """A query value the read side cannot use (e.g. a malformed cursor)."""

    problem_type = "validation-error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ReadModelBehind(QueryError):
    """The projections had not reached `min_position` within the wait."""

    status = 503
    problem_type = "read-model-behind"
    retry_after_seconds = 1

    def __init__(self, position: int, wanted: int) -> None:
        super().__init__(
            f"The read model is at position {position}, not yet at {wanted}; retry shortly."
        )
        self.position = position
        self.wanted = wanted
        self.read_position = position  # raised while waiting, before any handler ran

    @property
    def headers(self) -> dict[str, str]:
        return {**super().headers, "Retry-After": str(self.retry_after_seconds)}


class ReadModelBuilding(QueryError):
    """A projection the query reads has never been built: it is being built now."""

    status = 503
    problem_type = "read-model-building"
    retry_after_seconds = 5

    def __init__(self, projections: list[str]) -> None:
        super().__init__(
            f"The read model of {', '.join(projections)} is being built from the event log; "
            "retry shortly (GET /api/projections/ shows its progress)."
        )
        self.projections = projections

    @property
    def headers(self) -> dict[str, str]:
        return {**super().headers, "Retry-After": str(self.retry_after_seconds)}
