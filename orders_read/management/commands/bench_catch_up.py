"""Measure how fast the projections catch up a backlog of synthetic order events."""

import random
import time
import uuid
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from eventlog.models import Event
from orders_read import runner
from orders_read.models import Checkpoint
from orders_write.domain.model import Order
from orders_write.domain.values import Line

CHUNK = 5000


class Command(BaseCommand):
    help = (
        "Append N synthetic order events to an EMPTY event log (a scratch database!), "
        "then time each projection catching up from position 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        if Event.objects.exists() or Checkpoint.objects.using("read").exists():
            raise CommandError("Run it on scratch databases: the event log must be empty.")
        started = time.monotonic()
        count = self.seed(options["events"], random.Random(options["seed"]))
        self.stdout.write(f"appended {count} events in {time.monotonic() - started:.1f}s")
        total = 0.0
        for name in runner.projection_names():
            started = time.monotonic()
            applied = runner.projection_catch_up(name, batch_size=options["batch_size"])
            elapsed = time.monotonic() - started
            total += elapsed
            self.stdout.write(
                f"{name}: {applied} events in {elapsed:.2f}s = {applied / elapsed:,.0f}/s"
            )
        self.stdout.write(
            f"all projections: {count * 3 / total:,.0f} events/s (per projection-event)"
        )

    def seed(self, wanted: int, rng: random.Random) -> int:
        """Append about `wanted` events made by the real aggregate, in bulk."""
        rows, count, now = [], 0, timezone.now()
        while count < wanted:
            order = Order(str(uuid.uuid4()))
            skus = rng.sample(range(500), 3)
            order.place(
                f"customer-{rng.randrange(2000)}",
                rng.choice(["EUR", "USD"]),
                [
                    Line(f"SKU-{s}", rng.randint(1, 5), Decimal(rng.randint(1, 9999)) / 100)
                    for s in skus
                ],
            )
            order.add_item(f"SKU-{rng.randrange(500, 600)}", 2, Decimal("3.50"))
            order.change_quantity(f"SKU-{skus[0]}", 7)
            order.remove_item(f"SKU-{skus[1]}")
            order.ship("T-1") if rng.random() < 0.7 else order.cancel("bench")
            for version, event in enumerate(order.pending, start=1):
                rows.append(
                    Event(
                        stream_type="order",
                        stream_id=uuid.UUID(order.id),
                        version=version,
                        type=event.type,
                        data=event.to_data(),
                        metadata={"actor": "bench"},
                        recorded_at=now,
                        schema_version=event.schema_version,
                    )
                )
            count += len(order.pending)
            if len(rows) >= CHUNK:
                self.append(rows)
        self.append(rows)
        return count

    @staticmethod
    def append(rows: list[Event]) -> None:
        with transaction.atomic(using="default"):
            Event.objects.bulk_create(rows)
        rows.clear()
