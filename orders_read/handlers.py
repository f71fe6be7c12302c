"""One handler per query: check who may ask, then call the selector."""

from dataclasses import replace

from .as_of import AsOf, customer_as_of, order_as_of, product_sales_as_of
from .models import CustomerSummary
from .pagination import Page
from .queries import (
    ExportCustomerData,
    Forbidden,
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
    NotFound,
    Viewer,
)
from .selectors import (
    customer_export_get,
    customer_get,
    daily_sales_list,
    order_get,
    order_history_list,
    order_list,
    order_parked_get,
    product_sales_list,
    projection_status_list,
)


def get_order(query: GetOrder):
    order = order_get(order_id=query.order_id)
    # Someone else's order is "not found": its existence is not the viewer's business.
    if order is None or not query.viewer.may_see(order.customer_id):
        raise NotFound(f"Order {query.order_id} not found.")
    # A parked stream's row is its last good state: the answer says so.
    order.parked = order_parked_get(order_id=query.order_id)
    return order


def get_order_as_of(query: GetOrderAsOf) -> AsOf:
    found = order_as_of(order_id=query.order_id, instant=query.as_of)
    # Not placed yet at that instant, or not the viewer's: not found, as for the live order.
    if found is None or not query.viewer.may_see(found.value.customer_id):
        raise NotFound(f"Order {query.order_id} not found.")
    return found


def list_orders(query: ListOrders) -> Page:
    filters, username = query.filters, query.viewer.username
    if not query.viewer.is_staff:
        if filters.customer_id not in (None, username):
            return Page([], None, None)
        filters = replace(filters, customer_id=username)
    return order_list(filters=filters)


def list_customer_orders(query: ListCustomerOrders) -> Page:
    _require_may_see(query.viewer, query.customer_id)
    return order_list(filters=replace(query.filters, customer_id=query.customer_id))


def get_customer(query: GetCustomer) -> CustomerSummary:
    _require_may_see(query.viewer, query.customer_id)
    return _summary_or_empty(query, customer_get(customer_id=query.customer_id))


def get_customer_as_of(query: GetCustomerAsOf) -> AsOf:
    _require_may_see(query.viewer, query.customer_id)
    found = customer_as_of(customer_id=query.customer_id, instant=query.as_of)
    # What the live query answered then: the same rule over the summary as it stood.
    return replace(found, value=_summary_or_empty(query, found.value))


def _summary_or_empty(
    query: GetCustomer | GetCustomerAsOf, summary: CustomerSummary | None
) -> CustomerSummary:
    if summary is None:
        if query.viewer.is_staff:
            raise NotFound(f"Customer {query.customer_id} has no orders.")
        # A customer who has not ordered yet has an empty summary, not a missing one.
        summary = CustomerSummary(customer_id=query.customer_id, totals={})
    return summary


def export_customer_data(query: ExportCustomerData) -> dict:
    _require_may_see(query.viewer, query.customer_id)
    export = customer_export_get(customer_id=query.customer_id)
    if query.viewer.is_staff and not export["events"]:
        raise NotFound(f"Customer {query.customer_id} has no recorded data.")
    return export


def get_product_sales(query: GetProductSales):
    _require_staff(query.viewer)
    return product_sales_list()


def get_product_sales_as_of(query: GetProductSalesAsOf) -> AsOf:
    _require_staff(query.viewer)
    return product_sales_as_of(instant=query.as_of)


def get_daily_sales(query: GetDailySales):
    _require_staff(query.viewer)
    return daily_sales_list(currency=query.currency, since=query.since, until=query.until)


def get_order_history(query: GetOrderHistory):
    events = order_history_list(order_id=query.order_id)
    if not events or not query.viewer.may_see(events[0]["data"].get("customer_id", "")):
        raise NotFound(f"Order {query.order_id} not found.")
    return events


def get_projection_status(query: GetProjectionStatus):
    _require_staff(query.viewer)
    return projection_status_list()


def _require_may_see(viewer: Viewer, customer_id: str) -> None:
    # 404 rather than 403, as for orders: other customers' existence stays private.
    if not viewer.may_see(customer_id):
        raise NotFound(f"Customer {customer_id} not found.")


def _require_staff(viewer: Viewer) -> None:
    if not viewer.is_staff:
        raise Forbidden("Only staff may see this.")
