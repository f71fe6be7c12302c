"""The peer of Ordinal's rebuild: the `eventsourcing` library's projection runner.

It builds Ordinal's three read models (order view, customer summary, product sales)
in tables of the same definition on the read database, from the library's log on the
write database, written the way the library's documentation shows: a `Projection`
whose `process_event` calls a view (a `PostgresTrackingRecorder` subclass) that writes
the rows and the tracking record in one transaction per event.
"""

import time
from decimal import Decimal
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from .es_model import BenchOrder

# The peer's tables copy the columns, constraints and indexes of Ordinal's read models.
TABLES = {
    "peer_orderview": "OrderView",
    "peer_customersummary": "CustomerSummary",
    "peer_productsales": "ProductSales",
}
# Columns whose values are the peer's own: its events' timestamps (made when its log
# was seeded), not Ordinal's recorded_at.
OWN_COLUMNS = ("placed_at", "updated_at", "shipped_at", "cancelled_at", "last_order_at")
NAME = "ordinal_views"  # the projection: its tracking table is "ordinal_views_tracking"
CENTS = Decimal("0.01")

ORDER_PLACED = """
INSERT INTO peer_orderview (order_id, customer_id, status, currency, items, item_count, total,
    shipping_address, tracking_number, placed_at, placed_position, updated_at, version)
VALUES (%(id)s, %(customer)s, 'placed', %(currency)s, %(items)s, %(units)s, %(total)s,
    %(address)s, '', %(at)s, %(position)s, %(at)s, %(version)s)
"""
ORDER_LINE_ADDED = """
UPDATE peer_orderview SET items = items || %(line)s, item_count = item_count + %(units)s,
    total = %(total)s, updated_at = %(at)s, version = %(version)s
WHERE order_id = %(id)s
"""
ORDER_LINE_CHANGED = """
UPDATE peer_orderview SET items = (
        SELECT jsonb_agg(CASE WHEN line ->> 'sku' = %(sku)s THEN %(line)s ELSE line END
            ORDER BY n)
        FROM jsonb_array_elements(items) WITH ORDINALITY AS t(line, n)),
    item_count = item_count + %(units)s, total = %(total)s, updated_at = %(at)s,
    version = %(version)s
WHERE order_id = %(id)s
"""
ORDER_LINE_REMOVED = """
UPDATE peer_orderview SET items = (
        SELECT coalesce(jsonb_agg(line ORDER BY n), '[]')
        FROM jsonb_array_elements(items) WITH ORDINALITY AS t(line, n)
        WHERE line ->> 'sku' <> %(sku)s),
    item_count = item_count + %(units)s, total = %(total)s, updated_at = %(at)s,
    version = %(version)s
WHERE order_id = %(id)s
"""
ORDER_SHIPPED = """
UPDATE peer_orderview SET status = 'shipped', tracking_number = %(tracking)s,
    shipped_at = %(at)s, updated_at = %(at)s, version = %(version)s
WHERE order_id = %(id)s
"""
ORDER_CANCELLED = """
UPDATE peer_orderview SET status = 'cancelled', cancelled_at = %(at)s, total = %(total)s,
    updated_at = %(at)s, version = %(version)s
WHERE order_id = %(id)s
"""
# Amounts are decimal strings in a {currency: amount} object, as in Ordinal's tables.
CUSTOMER_PLACED = """
INSERT INTO peer_customersummary AS c (customer_id, orders_count, open_orders, totals,
    last_order_at)
VALUES (%(customer)s, 1, 1, jsonb_build_object(%(currency)s::text, %(amount)s::text), %(at)s)
ON CONFLICT (customer_id) DO UPDATE SET
    orders_count = c.orders_count + 1, open_orders = c.open_orders + 1,
    totals = c.totals || jsonb_build_object(%(currency)s::text,
        (coalesce((c.totals ->> %(currency)s)::numeric, 0) + %(amount)s)::text),
    last_order_at = greatest(c.last_order_at, EXCLUDED.last_order_at)
"""
CUSTOMER_CHANGED = """
UPDATE peer_customersummary SET open_orders = open_orders + %(opened)s,
    totals = totals || jsonb_build_object(%(currency)s::text,
        (coalesce((totals ->> %(currency)s)::numeric, 0) + %(amount)s)::text)
WHERE customer_id = %(customer)s
"""
CUSTOMER_SHIPPED = """
UPDATE peer_customersummary SET open_orders = open_orders - 1 WHERE customer_id = %(customer)s
"""
SALES_ADDED = """
INSERT INTO peer_productsales AS s (sku, units_sold, orders_count, revenue)
VALUES (%(sku)s, %(units)s, %(orders)s, jsonb_build_object(%(currency)s::text, %(amount)s::text))
ON CONFLICT (sku) DO UPDATE SET
    units_sold = s.units_sold + EXCLUDED.units_sold,
    orders_count = s.orders_count + EXCLUDED.orders_count,
    revenue = s.revenue || jsonb_build_object(%(currency)s::text,
        (coalesce((s.revenue ->> %(currency)s)::numeric, 0) + %(amount)s)::text)
"""
# Lines changed, removed or cancelled are of SKUs that have a row already. (An upsert
# would not do: PostgreSQL checks the row it proposes, whose counts are negative here.)
SALES_CHANGED = """
UPDATE peer_productsales SET units_sold = units_sold + %(units)s,
    orders_count = orders_count + %(orders)s,
    revenue = revenue || jsonb_build_object(%(currency)s::text,
        (coalesce((revenue ->> %(currency)s)::numeric, 0) + %(amount)s)::text)
WHERE sku = %(sku)s
"""


def money(value: str) -> Decimal:
    """Return an amount with two places, as Ordinal's projectors do."""
    return Decimal(value).quantize(CENTS)


def line(sku: str, quantity: int, unit_price: str) -> dict[str, Any]:
    """Return an order line as Ordinal's order view stores it."""
    price = money(unit_price)
    return {
        "sku": sku,
        "quantity": quantity,
        "unit_price": str(price),
        "line_total": str(price * quantity),
    }


class OrdinalViews(PostgresTrackingRecorder):
    """Ordinal's read models as a materialised view of the library's application."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        for table, like in peer_tables().items():
            self.sql_create_statements.append(
                SQL("CREATE TABLE IF NOT EXISTS {0} (LIKE {1} INCLUDING ALL)").format(
                    Identifier(table), Identifier(like)
                )
            )

    def order_placed(self, event: BenchOrder.OrderPlaced, tracking: Tracking) -> None:
        lines = [line(i["sku"], i["quantity"], i["unit_price"]) for i in event.items]
        order = self._order(event, total=money(event.total))
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            curs.execute(
                ORDER_PLACED,
                {
                    **order,
                    "currency": event.currency,
                    "items": Jsonb(lines),
                    "units": sum(i["quantity"] for i in lines),
                    "address": Jsonb(event.shipping_address or {}),
                    "position": tracking.notification_id,
                },
                prepare=True,
            )
            curs.execute(
                CUSTOMER_PLACED,
                {**order, "currency": event.currency, "amount": order["total"]},
                prepare=True,
            )
            curs.executemany(
                SALES_ADDED,
                [self._sale(event, i["sku"], i["quantity"], i["unit_price"], 1) for i in lines],
            )

    def line_added(self, event: BenchOrder.ItemAdded, tracking: Tracking) -> None:
        added = [line(event.sku, event.quantity, event.unit_price)]  # appended: an array
        units = event.quantity
        self._line_changed(event, tracking, ORDER_LINE_ADDED, added, units, 1, SALES_ADDED)

    def line_changed(self, event: BenchOrder.ItemQuantityChanged, tracking: Tracking) -> None:
        changed = line(event.sku, event.quantity, event.unit_price)
        units = event.quantity - event.previous_quantity
        self._line_changed(event, tracking, ORDER_LINE_CHANGED, changed, units, 0, SALES_CHANGED)

    def line_removed(self, event: BenchOrder.ItemRemoved, tracking: Tracking) -> None:
        units = -event.quantity
        self._line_changed(event, tracking, ORDER_LINE_REMOVED, None, units, -1, SALES_CHANGED)

    def order_shipped(self, event: BenchOrder.OrderShipped, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            curs.execute(
                ORDER_SHIPPED,
                {**self._order(event), "tracking": event.tracking_number or ""},
                prepare=True,
            )
            curs.execute(CUSTOMER_SHIPPED, {"customer": event.customer_id}, prepare=True)

    def order_cancelled(self, event: BenchOrder.OrderCancelled, tracking: Tracking) -> None:
        order = self._order(event, total=money(event.total))
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            curs.execute(ORDER_CANCELLED, order, prepare=True)
            curs.execute(
                CUSTOMER_CHANGED,
                {**order, "opened": -1, "currency": event.currency, "amount": -order["total"]},
                prepare=True,
            )
            curs.executemany(
                SALES_CHANGED,
                [
                    self._sale(event, i["sku"], -i["quantity"], i["unit_price"], -1)
                    for i in event.items
                ],
            )

    def _line_changed(
        self,
        event: Any,
        tracking: Tracking,
        statement: str,
        lines: Any,
        units: int,
        orders: int,
        sales: str,
    ) -> None:
        """Change one line of an order: the order's row, its customer's totals, its SKU."""
        sale = self._sale(event, event.sku, units, event.unit_price, orders)
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            curs.execute(
                statement,
                {
                    **self._order(event, total=money(event.total)),
                    "sku": event.sku,
                    "line": Jsonb(lines),
                    "units": units,
                },
                prepare=True,
            )
            curs.execute(
                CUSTOMER_CHANGED,
                {"customer": event.customer_id, "opened": 0, **sale},
                prepare=True,
            )
            curs.execute(sales, sale, prepare=True)

    @staticmethod
    def _order(event: Any, **values: Any) -> dict[str, Any]:
        return {
            "id": event.originator_id,
            "customer": event.customer_id,
            "at": event.timestamp,
            "version": event.originator_version,
            **values,
        }

    @staticmethod
    def _sale(event: Any, sku: str, units: int, unit_price: str, orders: int) -> dict[str, Any]:
        return {
            "sku": sku,
            "units": units,
            "orders": orders,
            "currency": event.currency,
            "amount": units * money(unit_price),
        }


class OrdinalViewsProjection(Projection[OrdinalViews]):
    name = NAME

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    @process_event.register
    def _(self, domain_event: BenchOrder.OrderPlaced, tracking: Tracking) -> None:
        self.view.order_placed(domain_event, tracking)

    @process_event.register
    def _(self, domain_event: BenchOrder.ItemAdded, tracking: Tracking) -> None:
        self.view.line_added(domain_event, tracking)

    @process_event.register
    def _(self, domain_event: BenchOrder.ItemQuantityChanged, tracking: Tracking) -> None:
        self.view.line_changed(domain_event, tracking)

    @process_event.register
    def _(self, domain_event: BenchOrder.ItemRemoved, tracking: Tracking) -> None:
        self.view.line_removed(domain_event, tracking)

    @process_event.register
    def _(self, domain_event: BenchOrder.OrderShipped, tracking: Tracking) -> None:
        self.view.order_shipped(domain_event, tracking)

    @process_event.register
    def _(self, domain_event: BenchOrder.OrderCancelled, tracking: Tracking) -> None:
        self.view.order_cancelled(domain_event, tracking)


def peer_tables() -> dict[str, str]:
    """The peer's tables -> the read-model tables they copy (named by Django, as Ordinal's)."""
    from orders_read import models

    return {table: getattr(models, model)._meta.db_table for table, model in TABLES.items()}


def peer_reset(read_dsn: str) -> None:
    """Drop the peer's tables and tracking records: the next run starts from empty views."""
    with psycopg.connect(read_dsn, autocommit=True) as conn:
        for table in [*TABLES, f"{NAME}_tracking"]:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def peer_seconds(env: dict[str, str], read_dsn: str, head: int) -> float:
    """Seconds for the runner to take empty views to event `head` of the library's log.

    `env` configures the application (APPLICATION_ keys, the write database) and the
    projection (ORDINAL_VIEWS_ keys, the read database). The end is seen by polling the
    tracking table on a connection of our own every 10 ms (the runner's `wait` backs off
    to 0.8 s between polls, which would add up to that much to the time).
    """
    peer_reset(read_dsn)
    with psycopg.connect(read_dsn, autocommit=True) as poll:
        start = time.perf_counter()
        with ProjectionRunner(
            application_class=Application,
            projection_class=OrdinalViewsProjection,
            view_class=OrdinalViews,
            env=env,
        ) as runner:
            while _tracked(poll) < head:
                runner.run_forever(timeout=0.01)  # re-raises the runner's error, if any
                if runner.is_interrupted.is_set():
                    raise RuntimeError("The projection runner stopped before the head.")
            elapsed = time.perf_counter() - start
    return elapsed


def peer_position(read_dsn: str) -> int:
    """Return the position of the last event the peer's views hold."""
    with psycopg.connect(read_dsn, autocommit=True) as conn:
        return _tracked(conn)


def _tracked(conn: psycopg.Connection) -> int:
    try:
        row = conn.execute(
            f"SELECT notification_id FROM {NAME}_tracking WHERE application_name = 'Application'"
        ).fetchone()
    except psycopg.errors.UndefinedTable:
        return 0  # the runner has not created its tables yet
    return row[0] if row else 0
