"""Each projector on hand-made events, in memory: the rows it keeps for each event type.

No database: a projector made with `complete=True` holds every row itself and
`apply(..., save=False)` writes nothing, and these tests carry no django_db mark, so
any query would fail them.
"""

from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest

from eventlog.personal import NoDataKeys
from eventlog.store import RecordedEvent
from orders_read.projectors import (
    CustomerSummaryProjector,
    DailySalesProjector,
    HandlerFailed,
    OrderViewProjector,
    ProductSalesProjector,
)
from orders_write.domain.events import Event

ORDER = UUID("00000000-0000-4000-8000-000000000001")
OTHER = UUID("00000000-0000-4000-8000-000000000002")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

A1, B2 = ("A-1", 2, "10.00"), ("B-2", 1, "5.50")  # (sku, quantity, unit price)
LYON = {
    "name": "Alice",
    "line1": "1 rue X",
    "line2": "",
    "city": "Lyon",
    "postal_code": "69001",
    "country": "FR",
}


class Log:
    """Hand-made recorded events: positions run on across orders, versions per order.

    Each event is stamped `position` minutes after T0 unless `at` says otherwise, and
    carries the fields the domain's event of that type has (checked below).
    """

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.orders: dict[UUID, tuple[str, str]] = {}  # order -> (customer, currency)

    def record(self, order: UUID, kind: str, at: datetime | None = None, **data) -> RecordedEvent:
        position = len(self.events) + 1
        version = 1 + sum(e.stream_id == order for e in self.events)
        at = at or T0 + timedelta(minutes=position)
        data = {"order_id": str(order), **data}
        # In the type's current schema, as the write side records it now.
        schema = Event.registry[kind].schema_version if kind in Event.registry else 1
        event = RecordedEvent(position, "order", order, version, kind, data, {}, at, schema)
        self.events.append(event)
        return event

    def placed(self, order, customer="alice", *items, currency="EUR", total, **extra):
        """Alice's A-1 x2 at 10.00 and B-2 x1 at 5.50 unless told otherwise."""
        self.orders[order] = (customer, currency)
        return self.record(
            order,
            "OrderPlaced",
            at=extra.get("at"),
            customer_id=customer,
            currency=currency,
            items=[line(*item) for item in items or (A1, B2)],
            shipping_address=extra.get("shipping_address"),
            total=total,
        )

    def forgotten(self, customer: str) -> RecordedEvent:
        """The customer's own stream records that they were forgotten."""
        position = len(self.events) + 1
        stream = uuid5(NAMESPACE_URL, f"customer:{customer}")
        event = RecordedEvent(
            position,
            "customer",
            stream,
            1,
            "CustomerForgotten",
            {"customer_id": customer},
            {},
            T0 + timedelta(minutes=position),
            1,
        )
        self.events.append(event)
        return event

    def item_added(self, order, sku, quantity, unit_price, *, total, at=None):
        return self._item(order, "ItemAdded", sku, quantity, unit_price, total, at)

    def quantity_changed(self, order, sku, quantity, unit_price, *, previous, total, at=None):
        return self._item(
            order,
            "ItemQuantityChanged",
            sku,
            quantity,
            unit_price,
            total,
            at,
            previous_quantity=previous,
        )

    def item_removed(self, order, sku, quantity, unit_price, *, total, at=None):
        return self._item(order, "ItemRemoved", sku, quantity, unit_price, total, at)

    def shipped(self, order, tracking_number=""):
        customer, _ = self.orders[order]
        return self.record(
            order, "OrderShipped", customer_id=customer, tracking_number=tracking_number
        )

    def cancelled(self, order, *items, total, reason="", at=None):
        customer, currency = self.orders[order]
        return self.record(
            order,
            "OrderCancelled",
            at=at,
            customer_id=customer,
            currency=currency,
            reason=reason,
            items=[line(*item) for item in items],
            total=total,
        )

    def _item(self, order, kind, sku, quantity, unit_price, total, at, **extra):
        customer, currency = self.orders[order]
        return self.record(
            order,
            kind,
            at=at,
            customer_id=customer,
            currency=currency,
            sku=sku,
            quantity=quantity,
            unit_price=unit_price,
            total=total,
            **extra,
        )


def line(sku: str, quantity: int, unit_price: str) -> dict:
    return {"sku": sku, "quantity": quantity, "unit_price": unit_price}


def project(projector_class, events) -> dict:
    """Apply the events in one batch, in memory; return the rows by key."""
    projector = projector_class(complete=True, data_keys=NoDataKeys())  # clear events, no database
    projector.apply(events, save=False)
    return projector.rows


@pytest.fixture
def log() -> Log:
    return Log()


def a_bit_of_everything() -> Log:
    """Two customers, two currencies, every event type."""
    log = Log()
    log.placed(ORDER, "alice", A1, B2, total="25.50", shipping_address=LYON)
    log.placed(OTHER, "bob", ("A-1", 1, "9.00"), currency="USD", total="9.00")
    log.item_added(ORDER, "C-3", 3, "1.10", total="28.80")
    log.quantity_changed(ORDER, "A-1", 5, "10.00", previous=2, total="58.80")
    log.item_removed(ORDER, "B-2", 1, "5.50", total="53.30")
    log.shipped(ORDER, "TRK-1")
    log.cancelled(OTHER, ("A-1", 1, "9.00"), total="9.00")
    log.forgotten("bob")
    return log


def test_the_hand_made_events_have_the_fields_of_the_domain_events():
    made = {event.type: set(event.data) for event in a_bit_of_everything().events}
    assert set(made) == set(Event.registry)
    for kind, names in made.items():
        assert names == {f.name for f in fields(Event.registry[kind])}, kind


ALL_PROJECTORS = [
    OrderViewProjector,
    CustomerSummaryProjector,
    ProductSalesProjector,
    DailySalesProjector,
]


@pytest.mark.parametrize("projector_class", ALL_PROJECTORS)
def test_one_event_at_a_time_gives_the_rows_one_batch_gives(projector_class):
    events = a_bit_of_everything().events
    projector = projector_class(complete=True, data_keys=NoDataKeys())
    for event in events:
        projector.apply([event], save=False)
    assert projector.rows == project(projector_class, events)


@pytest.mark.parametrize("projector_class", ALL_PROJECTORS)
def test_events_it_does_not_know_are_ignored(projector_class, log):
    log.placed(ORDER, total="25.50")
    log.record(ORDER, "SomethingElseHappened", customer_id="alice", sku="A-1")
    assert project(projector_class, log.events) == project(projector_class, log.events[:1])


@pytest.mark.parametrize("projector_class", ALL_PROJECTORS)
def test_changed_rows_are_marked_for_the_write(projector_class):
    projector = projector_class(complete=True, data_keys=NoDataKeys())
    projector.apply(a_bit_of_everything().events, save=False)
    assert projector.changed == set(projector.rows) != set()


class TestOrderView:
    def test_order_placed_makes_the_row(self, log):
        placed = log.placed(ORDER, "alice", A1, B2, total="25.50", shipping_address=LYON)
        row = project(OrderViewProjector, log.events)[ORDER]
        assert row == {
            "order_id": ORDER,
            "customer_id": "alice",
            "status": "placed",
            "currency": "EUR",
            "items": [
                {"sku": "A-1", "quantity": 2, "unit_price": "10.00", "line_total": "20.00"},
                {"sku": "B-2", "quantity": 1, "unit_price": "5.50", "line_total": "5.50"},
            ],
            "item_count": 3,
            "total": Decimal("25.50"),
            "shipping_address": LYON,
            "redacted": False,
            "tracking_number": "",
            "placed_at": placed.recorded_at,
            "placed_position": placed.position,
            "updated_at": placed.recorded_at,
            "shipped_at": None,
            "cancelled_at": None,
            "version": 1,
        }

    def test_item_added_appends_a_line(self, log):
        log.placed(ORDER, total="25.50")
        added = log.item_added(ORDER, "C-3", 3, "1.1", total="28.80")
        row = project(OrderViewProjector, log.events)[ORDER]
        assert row["items"][-1] == {
            "sku": "C-3",
            "quantity": 3,
            "unit_price": "1.10",
            "line_total": "3.30",
        }
        assert (row["item_count"], row["total"], row["version"]) == (6, Decimal("28.80"), 2)
        assert row["updated_at"] == added.recorded_at > row["placed_at"]

    def test_item_quantity_changed_replaces_the_line_in_place(self, log):
        log.placed(ORDER, total="25.50")
        log.quantity_changed(ORDER, "A-1", 5, "10.00", previous=2, total="55.50")
        row = project(OrderViewProjector, log.events)[ORDER]
        assert [(i["sku"], i["quantity"], i["line_total"]) for i in row["items"]] == [
            ("A-1", 5, "50.00"),
            ("B-2", 1, "5.50"),
        ]
        assert (row["item_count"], row["total"]) == (6, Decimal("55.50"))

    def test_item_removed_drops_the_line(self, log):
        log.placed(ORDER, total="25.50")
        log.item_removed(ORDER, "A-1", 2, "10.00", total="5.50")
        row = project(OrderViewProjector, log.events)[ORDER]
        assert [i["sku"] for i in row["items"]] == ["B-2"]
        assert (row["item_count"], row["total"], row["version"]) == (1, Decimal("5.50"), 2)

    def test_order_shipped(self, log):
        log.placed(ORDER, total="25.50")
        shipped = log.shipped(ORDER, "TRK-1")
        row = project(OrderViewProjector, log.events)[ORDER]
        assert (row["status"], row["tracking_number"]) == ("shipped", "TRK-1")
        assert row["shipped_at"] == row["updated_at"] == shipped.recorded_at
        assert (row["total"], row["item_count"], row["cancelled_at"]) == (Decimal("25.50"), 3, None)

    def test_order_cancelled_keeps_its_lines(self, log):
        log.placed(ORDER, total="25.50")
        cancelled = log.cancelled(ORDER, A1, B2, total="25.50")
        row = project(OrderViewProjector, log.events)[ORDER]
        assert (row["status"], row["cancelled_at"], row["version"]) == (
            "cancelled",
            cancelled.recorded_at,
            2,
        )
        assert (len(row["items"]), row["total"], row["shipped_at"]) == (2, Decimal("25.50"), None)

    def test_each_order_has_its_own_row(self):
        rows = project(OrderViewProjector, a_bit_of_everything().events)
        assert {key: row["status"] for key, row in rows.items()} == {
            ORDER: "shipped",
            OTHER: "cancelled",
        }
        assert (rows[ORDER]["version"], rows[OTHER]["version"]) == (5, 2)
        assert rows[OTHER]["customer_id"] == "bob"

    def test_an_event_of_an_order_it_never_saw_fails_with_its_place_in_the_batch(self, log):
        log.placed(ORDER, total="25.50")
        log.orders[OTHER] = ("bob", "EUR")
        stray = log.item_added(OTHER, "C-3", 1, "1.00", total="1.00")
        with pytest.raises(HandlerFailed) as failed:
            project(OrderViewProjector, log.events)
        assert (failed.value.index, failed.value.position) == (1, stray.position)
        assert isinstance(failed.value.error, KeyError)


class TestCustomerSummary:
    def test_order_placed_counts_an_open_order_and_its_total(self, log):
        placed = log.placed(ORDER, "alice", total="25.50")
        assert project(CustomerSummaryProjector, log.events)["alice"] == {
            "customer_id": "alice",
            "orders_count": 1,
            "open_orders": 1,
            "totals": {"EUR": Decimal("25.50")},
            "last_order_at": placed.recorded_at,
        }

    def test_totals_are_kept_per_currency(self, log):
        log.placed(ORDER, "alice", total="25.50")
        log.placed(OTHER, "alice", ("A-1", 1, "9.00"), currency="USD", total="9.00")
        row = project(CustomerSummaryProjector, log.events)["alice"]
        assert row["totals"] == {"EUR": Decimal("25.50"), "USD": Decimal("9.00")}
        assert (row["orders_count"], row["open_orders"]) == (2, 2)

    def test_item_changes_move_the_total_by_units_times_price(self, log):
        log.placed(ORDER, "alice", total="25.50")
        log.item_added(ORDER, "C-3", 3, "1.10", total="28.80")
        assert project(CustomerSummaryProjector, log.events)["alice"]["totals"] == {
            "EUR": Decimal("28.80")
        }
        log.quantity_changed(ORDER, "A-1", 1, "10.00", previous=2, total="18.80")
        assert project(CustomerSummaryProjector, log.events)["alice"]["totals"] == {
            "EUR": Decimal("18.80")
        }
        log.item_removed(ORDER, "B-2", 1, "5.50", total="13.30")
        assert project(CustomerSummaryProjector, log.events)["alice"]["totals"] == {
            "EUR": Decimal("13.30")
        }

    def test_a_shipped_order_is_no_longer_open_but_still_counts(self, log):
        log.placed(ORDER, "alice", total="25.50")
        log.shipped(ORDER)
        row = project(CustomerSummaryProjector, log.events)["alice"]
        assert (row["orders_count"], row["open_orders"]) == (1, 0)
        assert row["totals"] == {"EUR": Decimal("25.50")}

    def test_a_cancelled_order_leaves_the_totals(self, log):
        log.placed(ORDER, "alice", total="25.50")
        log.placed(OTHER, "alice", ("A-1", 1, "9.00"), total="9.00")
        log.cancelled(ORDER, A1, B2, total="25.50")
        row = project(CustomerSummaryProjector, log.events)["alice"]
        assert (row["orders_count"], row["open_orders"]) == (2, 1)
        assert row["totals"] == {"EUR": Decimal("9.00")}

    def test_last_order_at_is_the_latest_placement_whatever_the_log_order(self, log):
        # recorded_at is taken before the append lock: a later position can be earlier.
        first = log.placed(ORDER, "alice", total="25.50", at=T0 + timedelta(hours=2))
        log.placed(OTHER, "alice", ("A-1", 1, "9.00"), total="9.00", at=T0 + timedelta(hours=1))
        row = project(CustomerSummaryProjector, log.events)["alice"]
        assert row["last_order_at"] == first.recorded_at

    def test_each_customer_has_their_own_row(self):
        rows = project(CustomerSummaryProjector, a_bit_of_everything().events)
        assert rows["alice"]["totals"] == {"EUR": Decimal("53.30")}
        assert (rows["alice"]["orders_count"], rows["alice"]["open_orders"]) == (1, 0)
        assert rows["bob"]["totals"] == {"USD": Decimal("0.00")}
        assert (rows["bob"]["orders_count"], rows["bob"]["open_orders"]) == (1, 0)


class TestProductSales:
    def test_order_placed_counts_each_line(self, log):
        log.placed(ORDER, "alice", A1, B2, total="25.50")
        rows = project(ProductSalesProjector, log.events)
        assert rows["A-1"] == {
            "sku": "A-1",
            "units_sold": 2,
            "orders_count": 1,
            "revenue": {"EUR": Decimal("20.00")},
        }
        assert (rows["B-2"]["units_sold"], rows["B-2"]["revenue"]) == (1, {"EUR": Decimal("5.50")})

    def test_item_added_counts_a_new_order_for_the_sku(self, log):
        log.placed(ORDER, "alice", A1, total="20.00")
        log.placed(OTHER, "bob", B2, total="5.50")
        log.item_added(OTHER, "A-1", 3, "10.00", total="35.50")
        row = project(ProductSalesProjector, log.events)["A-1"]
        assert (row["units_sold"], row["orders_count"]) == (5, 2)
        assert row["revenue"] == {"EUR": Decimal("50.00")}

    def test_item_quantity_changed_moves_units_not_orders(self, log):
        log.placed(ORDER, "alice", A1, total="20.00")
        log.quantity_changed(ORDER, "A-1", 7, "10.00", previous=2, total="70.00")
        row = project(ProductSalesProjector, log.events)["A-1"]
        assert (row["units_sold"], row["orders_count"], row["revenue"]) == (
            7,
            1,
            {"EUR": Decimal("70.00")},
        )

    def test_item_removed_takes_the_line_back_out(self, log):
        log.placed(ORDER, "alice", A1, B2, total="25.50")
        log.item_removed(ORDER, "B-2", 1, "5.50", total="20.00")
        row = project(ProductSalesProjector, log.events)["B-2"]
        assert (row["units_sold"], row["orders_count"], row["revenue"]) == (
            0,
            0,
            {"EUR": Decimal("0.00")},
        )

    def test_shipping_changes_no_sales(self, log):
        log.placed(ORDER, "alice", A1, B2, total="25.50")
        before = project(ProductSalesProjector, log.events)
        log.shipped(ORDER, "TRK-1")
        assert project(ProductSalesProjector, log.events) == before

    def test_a_cancelled_order_takes_its_lines_back_out(self, log):
        log.placed(ORDER, "alice", A1, B2, total="25.50")
        log.placed(OTHER, "bob", ("A-1", 1, "9.00"), total="9.00")
        log.cancelled(ORDER, A1, B2, total="25.50")
        rows = project(ProductSalesProjector, log.events)
        assert (rows["A-1"]["units_sold"], rows["A-1"]["orders_count"]) == (1, 1)
        assert rows["A-1"]["revenue"] == {"EUR": Decimal("9.00")}
        assert (rows["B-2"]["units_sold"], rows["B-2"]["orders_count"]) == (0, 0)

    def test_revenue_is_kept_per_currency(self, log):
        log.placed(ORDER, "alice", ("A-1", 1, "10.00"), total="10.00")
        log.placed(OTHER, "bob", ("A-1", 2, "3.00"), currency="USD", total="6.00")
        row = project(ProductSalesProjector, log.events)["A-1"]
        assert row["revenue"] == {"EUR": Decimal("10.00"), "USD": Decimal("6.00")}
        assert (row["units_sold"], row["orders_count"]) == (3, 2)


DAY1, DAY2, DAY3 = date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


class TestDailySales:
    def test_order_placed_books_an_order_and_its_total_on_its_day(self, log):
        log.placed(ORDER, "alice", A1, B2, total="25.50", at=at_noon(DAY1))
        assert project(DailySalesProjector, log.events) == {
            "2025-03-01:EUR": {
                "key": "2025-03-01:EUR",
                "day": DAY1,
                "currency": "EUR",
                "orders_placed": 1,
                "orders_cancelled": 0,
                "revenue": Decimal("25.50"),
            }
        }

    def test_item_changes_book_units_times_the_event_price_on_the_day_they_happen(self, log):
        log.placed(ORDER, "alice", A1, B2, total="25.50", at=at_noon(DAY1))
        log.item_added(ORDER, "C-3", 3, "1.10", total="28.80", at=at_noon(DAY2))
        log.quantity_changed(ORDER, "A-1", 5, "10.00", previous=2, total="58.80", at=at_noon(DAY2))
        log.item_removed(ORDER, "B-2", 1, "5.50", total="53.30", at=at_noon(DAY3))
        rows = project(DailySalesProjector, log.events)
        revenue = {row["day"]: row["revenue"] for row in rows.values()}
        assert revenue == {
            DAY1: Decimal("25.50"),
            DAY2: Decimal("33.30"),  # 3 x 1.10 + (5 - 2) x 10.00
            DAY3: Decimal("-5.50"),
        }
        placed = {row["day"]: row["orders_placed"] for row in rows.values()}
        assert placed == {DAY1: 1, DAY2: 0, DAY3: 0}

    def test_a_cancellation_takes_the_total_out_on_the_day_it_is_cancelled(self, log):
        log.placed(ORDER, "alice", A1, B2, total="25.50", at=at_noon(DAY1))
        log.placed(OTHER, "bob", ("A-1", 1, "9.00"), total="9.00", at=at_noon(DAY2))
        log.cancelled(ORDER, A1, B2, total="25.50", at=at_noon(DAY3))
        rows = project(DailySalesProjector, log.events)
        # The day it was placed keeps the order; the cancelling day books it back out.
        assert [
            (r["day"], r["orders_placed"], r["orders_cancelled"], r["revenue"])
            for r in sorted(rows.values(), key=lambda r: r["day"])
        ] == [
            (DAY1, 1, 0, Decimal("25.50")),
            (DAY2, 1, 0, Decimal("9.00")),
            (DAY3, 0, 1, Decimal("-25.50")),
        ]

    def test_a_cancellation_on_the_day_it_was_placed_nets_to_zero(self, log):
        log.placed(ORDER, "alice", A1, B2, total="25.50", at=at_noon(DAY1))
        log.cancelled(ORDER, A1, B2, total="25.50", at=at_noon(DAY1) + timedelta(hours=1))
        [row] = project(DailySalesProjector, log.events).values()
        assert (row["orders_placed"], row["orders_cancelled"], row["revenue"]) == (
            1,
            1,
            Decimal("0.00"),
        )

    def test_each_currency_has_its_own_row_per_day(self, log):
        log.placed(ORDER, "alice", total="25.50", at=at_noon(DAY1))
        log.placed(OTHER, "bob", ("A-1", 2, "3.00"), currency="USD", total="6.00", at=at_noon(DAY1))
        rows = project(DailySalesProjector, log.events)
        assert {key: row["revenue"] for key, row in rows.items()} == {
            "2025-03-01:EUR": Decimal("25.50"),
            "2025-03-01:USD": Decimal("6.00"),
        }
        assert {row["currency"] for row in rows.values()} == {"EUR", "USD"}

    def test_days_are_utc_dates_whatever_the_offset_recorded(self, log):
        # 23:30 at UTC-01:00 is 00:30 UTC the next day.
        evening = datetime(2025, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-1)))
        log.placed(ORDER, "alice", total="25.50", at=evening)
        [row] = project(DailySalesProjector, log.events).values()
        assert (row["key"], row["day"]) == ("2025-03-02:EUR", DAY2)

    def test_shipping_books_nothing(self, log):
        log.placed(ORDER, "alice", total="25.50", at=at_noon(DAY1))
        before = project(DailySalesProjector, log.events)
        log.shipped(ORDER, "TRK-1")
        assert project(DailySalesProjector, log.events) == before

    def test_over_every_day_an_order_books_its_total_or_nothing_once_cancelled(self):
        rows = project(DailySalesProjector, a_bit_of_everything().events)
        by_currency: dict[str, Decimal] = {}
        for row in rows.values():
            by_currency[row["currency"]] = by_currency.get(row["currency"], 0) + row["revenue"]
        # Alice's order ends at 53.30; Bob's USD order was cancelled.
        assert by_currency == {"EUR": Decimal("53.30"), "USD": Decimal("0.00")}
        assert sum(r["orders_placed"] for r in rows.values()) == 2
        assert sum(r["orders_cancelled"] for r in rows.values()) == 1


@pytest.mark.parametrize("complete", [True, False])
def test_the_failure_reported_is_the_first_in_log_order(log, complete):
    """A handler failing before an event it cannot upcast is the one reported: the runner
    keeps the events before the failure, so none of those may fail."""
    log.placed(ORDER, total="25.50")
    log.orders[OTHER] = ("bob", "EUR")
    stray = log.item_added(OTHER, "C-3", 1, "1.00", total="1.00")  # no such order: KeyError
    newer = log.item_added(ORDER, "C-3", 1, "1.00", total="26.50")
    log.events[-1] = newer._replace(schema_version=99)  # written by a newer release
    projector = OrderViewProjector(complete=complete, data_keys=NoDataKeys())
    if not complete:
        projector.load = lambda keys: None  # no database: every row is already held
    with pytest.raises(HandlerFailed) as failed:
        projector.apply(log.events, save=False)
    assert (failed.value.index, failed.value.position) == (1, stray.position)
