"""Show how many order snapshots are stored, or drop them all with --purge."""

from django.core.management.base import BaseCommand

from orders_write.domain.events import schema_versions
from orders_write.domain.model import Order
from orders_write.snapshots import DatabaseSnapshots


class Command(BaseCommand):
    help = (
        "Count the stored order snapshots (current and stale), or delete them all with "
        "--purge. Snapshots are a cache: deleting them changes no answer, only load times."
    )

    def add_arguments(self, parser):
        parser.add_argument("--purge", action="store_true", help="delete every snapshot")

    def handle(self, *args, purge: bool, **options):
        snapshots = DatabaseSnapshots()
        if purge:
            self.stdout.write(f"Deleted {snapshots.purge()} order snapshots.")
            return
        summary = snapshots.summary(schema_versions(), Order.SNAPSHOT_FORMAT)
        self.stdout.write(
            f"{summary.total} order snapshots: {summary.current} current, {summary.stale} "
            "stale (built from other event schema versions or another format; ignored)."
        )
