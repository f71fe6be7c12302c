"""Read models on the "read" database, and each projection's checkpoint."""

import json
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import models

PLACED, SHIPPED, CANCELLED = "placed", "shipped", "cancelled"
STATUSES = (PLACED, SHIPPED, CANCELLED)


class OrderView(models.Model):
    """One order as GET /api/orders/{id}/ shows it."""

    order_id = models.UUIDField(primary_key=True)
    customer_id = models.CharField(max_length=150)
    status = models.CharField(max_length=16, choices=[(s, s) for s in STATUSES])
    currency = models.CharField(max_length=3)
    # [{sku, quantity, unit_price, line_total}], money as decimal strings, in line order.
    items = models.JSONField(default=list)
    item_count = models.PositiveIntegerField(default=0)
    total = models.DecimalField(max_digits=20, decimal_places=2)
    shipping_address = models.JSONField(default=dict)
    # The customer was forgotten: personal fields (the address) are gone for good.
    redacted = models.BooleanField(default=False)
    tracking_number = models.CharField(max_length=100, blank=True, default="")
    placed_at = models.DateTimeField()
    # Position of the OrderPlaced event: unique and in placement order, so it is the
    # cursor of "newest first" without ties.
    placed_position = models.BigIntegerField(unique=True)
    updated_at = models.DateTimeField()
    shipped_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["customer_id", "-placed_position"], name="orderview_customer"),
            models.Index(fields=["status", "-placed_position"], name="orderview_status"),
            models.Index(fields=["placed_at"], name="orderview_placed_at"),
        ]

    def __str__(self) -> str:
        return f"Order {self.order_id} ({self.status})"


class CustomerSummary(models.Model):
    """What one customer has ordered; totals exclude cancelled orders."""

    customer_id = models.CharField(max_length=150, primary_key=True)
    orders_count = models.PositiveIntegerField(default=0)
    open_orders = models.PositiveIntegerField(default=0)
    totals = models.JSONField(default=dict)  # {currency: decimal string}
    last_order_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "customer summaries"

    def __str__(self) -> str:
        return f"Customer {self.customer_id}"


class ProductSales(models.Model):
    """Sales of one SKU over the orders that are not cancelled."""

    sku = models.CharField(max_length=64, primary_key=True)
    units_sold = models.BigIntegerField(default=0)
    orders_count = models.PositiveIntegerField(default=0)
    revenue = models.JSONField(default=dict)  # {currency: decimal string}

    class Meta:
        verbose_name_plural = "product sales"

    def __str__(self) -> str:
        return f"SKU {self.sku}"


class Checkpoint(models.Model):
    """How far one projection's live read model has got through the event log.

    A projection without one has never been built: it is built in the background (a
    Rebuild of kind "build") and its endpoints answer 503 until the build is swapped in.
    """

    name = models.CharField(max_length=64, primary_key=True)
    # The feed key (transaction id, position) of the last event applied: the projection
    # has applied every event of the feed up to it (eventlog.store.read_feed).
    tx_id = models.BigIntegerField(default=0)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.position}"

    @property
    def key(self) -> tuple[int, int]:
        """The feed key of the last event applied."""
        return (self.tx_id, self.position)


class PartitionCheckpoint(models.Model):
    """How far one partition of a partitioned projection has got through the feed.

    With ORDINAL_PROJECTION_PARTITIONS = n > 1, a projection's streams are split by
    `orders_read.partitions.partition_of` into n partitions, each with one of these rows:
    every feed event of a stream in the partition up to the row's key is applied. The
    projection's own Checkpoint then stays at the key the partitions started from (all
    of them are at or past it) and the projection has applied the feed up to the lowest
    partition key. One runner at a time leases a partition by locking its row.
    """

    projection = models.CharField(max_length=64)
    partition = models.PositiveSmallIntegerField()
    partitions = models.PositiveSmallIntegerField()  # how many the projection is split into
    tx_id = models.BigIntegerField(default=0)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["projection", "partition"], name="partition_once")
        ]

    def __str__(self) -> str:
        return f"{self.projection} {self.partition + 1}/{self.partitions} @ {self.position}"

    @property
    def key(self) -> tuple[int, int]:
        """The feed key of the last event applied (or passed over: another partition's)."""
        return (self.tx_id, self.position)


class ParkedStream(models.Model):
    """A stream a projection could not apply: the failing event and every later one of it.

    The projection goes on with the other streams; the parked events are retried in
    stream order (with backoff, or on demand) until they apply, then the row goes.
    `projection` is a projection's name, or the label of a generation being rebuilt.
    """

    projection = models.CharField(max_length=80)
    stream_id = models.UUIDField()
    position = models.BigIntegerField()  # of the first event not applied
    version = models.PositiveIntegerField()  # its version in the stream
    event_type = models.CharField(max_length=100)
    error = models.TextField()
    traceback = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=1)
    parked_at = models.DateTimeField()
    retry_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["projection", "stream_id"], name="parked_stream_once")
        ]
        indexes = [models.Index(fields=["projection", "retry_at"], name="parked_stream_due")]

    def __str__(self) -> str:
        return f"{self.projection}: stream {self.stream_id} parked at {self.position}"


class Rebuild(models.Model):
    """A new generation of one projection's read model, built beside the live one.

    Kinds: "rebuild" (swapped in when it reaches the head), "verify" (compared with the
    live model at the live checkpoint, then dropped) and "build" (a projection that has
    no checkpoint yet: built in place, its endpoints answering 503 meanwhile). At most one
    is active per projection. `position` advances with the new generation's rows, in the
    same transaction, so a killed builder resumes where it stopped.
    """

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    ACTIVE = (QUEUED, RUNNING)
    KINDS = ("rebuild", "verify", "build")

    projection = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=[(k, k) for k in KINDS])
    status = models.CharField(
        max_length=16, choices=[(s, s) for s in (QUEUED, RUNNING, DONE, FAILED)], default=QUEUED
    )
    # The feed key (transaction id, position) of the last event the generation applied.
    tx_id = models.BigIntegerField(default=0)
    position = models.BigIntegerField(default=0)
    head = models.BigIntegerField(default=0)  # the log's head at the last progress update
    events_done = models.BigIntegerField(default=0)
    indexed = models.BooleanField(default=False)  # the new table has its secondary indexes
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True, default="")  # a verify's summary, or the error

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["projection"],
                condition=models.Q(status__in=("queued", "running")),
                name="one_active_rebuild",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.projection} ({self.status}) @ {self.position}"

    @property
    def key(self) -> tuple[int, int]:
        """The feed key of the last event the generation applied."""
        return (self.tx_id, self.position)

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE


class SnapshotEncoder(json.JSONEncoder):
    """Encode read-model rows exactly: datetimes to the microsecond, amounts as strings.

    (Django's own encoder cuts datetimes to milliseconds, which would change answers.)
    """

    def default(self, o):
        if isinstance(o, datetime):
            return o.isoformat()
        if isinstance(o, Decimal | UUID):
            return str(o)
        return super().default(o)


class ProjectionSnapshot(models.Model):
    """A projection's read model as it stood at one point of the feed (for `as_of` answers).

    Taken by the runner in the transaction that brings the projection to its feed key.
    Its rows are one document holding every row (a report read whole, key "*"), or
    the rows changed since the projection's previous snapshot (every row in its first).
    """

    projection = models.CharField(max_length=64)
    # The feed key (tx_id, position) of the event it was taken at.
    tx_id = models.BigIntegerField(default=0)
    position = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["projection", "position"], name="projection_snapshot_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.projection} snapshot @ {self.position}"


class ProjectionSnapshotRow(models.Model):
    """One read-model row of a snapshot (field attname: value), or a whole report's rows."""

    projection = models.CharField(max_length=64)
    tx_id = models.BigIntegerField(default=0)  # with `position`: its snapshot's feed key
    position = models.BigIntegerField()
    key = models.CharField(max_length=150)
    row = models.JSONField(encoder=SnapshotEncoder)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["projection", "key", "position"], name="projection_snapshot_row"
            )
        ]
        indexes = [
            models.Index(fields=["projection", "position"], name="projection_snapshot_rows"),
        ]

    def __str__(self) -> str:
        return f"{self.projection} {self.key} @ {self.position}"


class DailySales(models.Model):
    """Orders and net revenue booked on one day (UTC) in one currency.

    A day books what happened on it: an order's total the day it is placed, an item
    change the day it is made, and a cancellation takes the order's total back out the
    day it is cancelled, so a day's revenue may be below zero.
    """

    # "YYYY-MM-DD:EUR": one key column, as the projectors' bulk upsert wants.
    key = models.CharField(max_length=16, primary_key=True)
    day = models.DateField()
    currency = models.CharField(max_length=3)
    orders_placed = models.PositiveIntegerField(default=0)
    orders_cancelled = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        verbose_name_plural = "daily sales"
        indexes = [models.Index(fields=["day", "currency"], name="dailysales_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}"
