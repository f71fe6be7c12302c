"""Read functions: fetch from the read models (and, for history, from the event log).

The read models are read on `query_db()`: inside a query, the database the query bus
chose for it (a read replica, if there are any); elsewhere (the admin), the read database.
"""

from collections import Counter
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db.models import Min, Q
from django.utils import timezone

from eventlog import store
from eventlog.models import Event
from orders_write.domain.upcasting import upcast
from orders_write.repository import customer_stream_id

from .filters import OrderFilters
from .models import (
    CustomerSummary,
    DailySales,
    OrderView,
    ParkedStream,
    ProductSales,
    Rebuild,
)
from .pagination import Page, keyset_page
from .partitions import partition_of, partitions_get, projection_keys
from .personal import events_opened
from .projectors import PROJECTORS
from .rebuilds import rebuild_progress
from .replicas import query_db

ORDER_VIEW = "order_view"
ORDER_STREAM = "order"
WRITE_DB = "default"
# Streams looked up by one statement (SQLite takes at most 999 parameters).
STREAMS_A_STATEMENT = 900


def order_get(*, order_id: UUID) -> OrderView | None:
    """Return one order's view, or None."""
    return OrderView.objects.using(query_db()).filter(order_id=order_id).first()


def order_list(*, filters: OrderFilters) -> Page:
    """Return a page of orders, newest first, narrowed by the filters given."""
    orders = filters.apply(OrderView.objects.using(query_db()).all())
    return keyset_page(
        orders, key="placed_position", cursor=filters.cursor, page_size=filters.page_size
    )


def customer_get(*, customer_id: str) -> CustomerSummary | None:
    """Return a customer's summary, or None if they have never ordered."""
    return CustomerSummary.objects.using(query_db()).filter(customer_id=customer_id).first()


def product_sales_list() -> list[ProductSales]:
    """Return the sales of every SKU that is in an order not cancelled, by SKU."""
    # Sorted here, by code point, not by the database's collation: as_of answers (built
    # in memory) sort the same way on every database.
    sales = ProductSales.objects.using(query_db()).filter(orders_count__gt=0)
    return sorted(sales, key=lambda row: row.sku)


def daily_sales_list(
    *, currency: str | None = None, since: date | None = None, until: date | None = None
) -> list[DailySales]:
    """Return the daily sales rows, by day then currency, within the days and currency given."""
    rows = DailySales.objects.using(query_db()).order_by("day", "currency")
    if currency is not None:
        rows = rows.filter(currency=currency)
    if since is not None:
        rows = rows.filter(day__gte=since)
    if until is not None:
        rows = rows.filter(day__lte=until)
    return list(rows)


def order_history_list(*, order_id: UUID) -> list[dict[str, Any]]:
    """Return an order's events from the log, in order (this reads the write database).

    Each event's data is shown in its type's newest schema, upcast from what is stored,
    with personal fields opened (redacted once the customer is forgotten).
    """
    stream = [e for e in store.read_stream(order_id) if e.stream_type == ORDER_STREAM]
    return [_shown(event) for event in events_opened(stream)]


def _shown(event: store.RecordedEvent) -> dict[str, Any]:
    """Return an event as history and exports show it: data in its newest schema."""
    return {
        "position": event.position,
        "version": event.version,
        "type": event.type,
        "data": upcast(event.type, event.schema_version, event.data),
        "recorded_at": event.recorded_at,
        "actor": event.metadata.get("actor"),
    }


def customer_export_get(*, customer_id: str) -> dict[str, Any]:
    """Return the customer's orders (read model) and every event of them and of their own
    stream (the log), personal fields opened, or redacted once they are forgotten."""
    orders = list(
        OrderView.objects.using(query_db())
        .filter(customer_id=customer_id)
        .order_by("placed_position")
    )
    streams = [customer_stream_id(customer_id), *(order.order_id for order in orders)]
    stored: list = []
    for start in range(0, len(streams), STREAMS_A_STATEMENT):
        rows = (
            Event.objects.using(WRITE_DB)
            .filter(stream_id__in=streams[start : start + STREAMS_A_STATEMENT])
            .values_list(*store.ROW_FIELDS)
        )
        stored.extend(store.RecordedEvent._make(row) for row in rows)
    stored.sort(key=lambda event: event.position)
    events = [
        {"stream_type": event.stream_type, "stream_id": event.stream_id, **_shown(event)}
        for event in events_opened(stored)
    ]
    forgotten = any(event["type"] == "CustomerForgotten" for event in events)
    return {"customer_id": customer_id, "forgotten": forgotten, "orders": orders, "events": events}


def checkpoint_positions_get(*, names: tuple[str, ...]) -> dict[str, int]:
    """Return how far each named projection has got, in positions; one missing was never
    built. A projection at position p has applied every committed event at or below p
    (`store.position_applied` of its checkpoint's feed key)."""
    found = projection_keys(using=query_db())
    keys = {name: key for name, key in found.items() if name in names}
    applied = {key: store.position_applied(key) for key in set(keys.values())}
    return {name: applied[key] for name, key in keys.items()}


def checkpoint_position_get(*, names: tuple[str, ...]) -> int:
    """Return how far the slowest of the named projections has got (0 if one never ran)."""
    positions = checkpoint_positions_get(names=names)
    return min((positions.get(name, 0) for name in names), default=0)


def order_parked_get(*, order_id: UUID) -> bool:
    """Tell whether the order's stream is parked in the order view (its row: last good state)."""
    return (
        ParkedStream.objects.using(query_db())
        .filter(projection=ORDER_VIEW, stream_id=order_id)
        .exists()
    )


def projection_status_list() -> list[dict[str, Any]]:
    """Return each projection's position, lag, parked streams and any rebuild under way."""
    checkpoints = projection_keys(using=query_db())
    parked = _parked_by_projection()
    builds = _latest_rebuilds()
    head, now = store.head_position(), timezone.now()
    statuses = []
    for name in PROJECTORS:
        key = checkpoints.get(name, (0, 0))
        lag_events, oldest = _lag(key) if head else (0, None)
        count, newest = parked.get(name, (0, None))
        if name not in checkpoints and head:
            status = "building"
        elif count:
            status = "degraded"
        else:
            status = "catching_up" if lag_events else "up_to_date"
        build = builds.get(name)
        statuses.append(
            {
                "name": name,
                "position": store.position_applied(key),
                "head": head,
                "lag_events": lag_events,
                "lag_seconds": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
                "status": status,
                "parked_streams": count,
                "last_error": _error(newest),
                "rebuild": rebuild_progress(build) if build is not None else None,
                "partitions": _partitions(name, head) if head else [],
            }
        )
    return statuses


def _lag(key: tuple[int, int]) -> tuple[int, datetime | None]:
    """Return how many committed events stand after the feed key, and the oldest one's time:
    the feed's, and those a long transaction still holds back behind the horizon."""
    tx_id, position = key
    behind = Event.objects.using(WRITE_DB).filter(
        Q(tx_id__gt=tx_id) | Q(tx_id=tx_id, position__gt=position)
    )
    oldest = behind.aggregate(at=Min("recorded_at"))["at"]
    return (behind.count() if oldest is not None else 0), oldest


def _partitions(name: str, head: int) -> list[dict[str, Any]]:
    """Return each partition's position and lag (events of every stream after its key)."""
    found = []
    now = timezone.now()
    for row in partitions_get(name, using=query_db()):
        lag_events, oldest = _lag(row.key)
        found.append(
            {
                "partition": row.partition,
                "partitions": row.partitions,
                "position": row.position,
                "lag_events": lag_events,
                "lag_seconds": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
            }
        )
    return found


def _parked_by_projection() -> dict[str, tuple[int, ParkedStream]]:
    """Return {projection: (parked streams, the most recently parked one)}."""
    found: dict[str, tuple[int, ParkedStream]] = {}
    for parked in ParkedStream.objects.using(query_db()).filter(projection__in=list(PROJECTORS)):
        count, newest = found.get(parked.projection, (0, parked))
        if parked.parked_at > newest.parked_at:
            newest = parked
        found[parked.projection] = (count + 1, newest)
    return found


def _latest_rebuilds() -> dict[str, Rebuild]:
    """Return each projection's active rebuild, or else its most recent one."""
    latest: dict[str, Rebuild] = {}
    for build in Rebuild.objects.using(query_db()).order_by("created_at", "pk"):
        if build.active or not latest.get(build.projection, build).active:
            latest[build.projection] = build
    return latest


def _error(parked: ParkedStream | None) -> dict[str, Any] | None:
    if parked is None:
        return None
    return {
        "message": parked.error,
        "position": parked.position,
        "stream_id": parked.stream_id,
        "attempts": parked.attempts,
        "retry_at": parked.retry_at,
    }


def projection_lag_list() -> list[dict[str, Any]]:
    """Return, per projection and partition, how far it has got and how far behind it is.

    Each row: `projection`, `partition` (a string), `position`, `lag_events` (committed
    events not applied yet), `lag_seconds` (age of the oldest of them), `parked_streams`.
    What /metrics exposes; a projection not split (ORDINAL_PROJECTION_PARTITIONS = 1) has
    the one partition "0". A partition's lag counts every stream's events after its key.
    """
    rows = []
    for status in projection_status_list():
        name = status["name"]
        if not status["partitions"]:
            rows.append({"projection": name, "partition": "0", **_gauges(status)})
            continue
        count = status["partitions"][0]["partitions"]
        parked = ParkedStream.objects.using(query_db()).filter(projection=name)
        streams = parked.values_list("stream_id", flat=True)
        per_partition = Counter(partition_of(stream_id, count) for stream_id in streams)
        for part in status["partitions"]:
            number = part["partition"]
            gauges = {**_gauges(part), "parked_streams": per_partition[number]}
            rows.append({"projection": name, "partition": str(number), **gauges})
    return rows


def _gauges(status: dict[str, Any]) -> dict[str, Any]:
    keys = ("position", "lag_events", "lag_seconds", "parked_streams")
    return {key: status[key] for key in keys if key in status}
