"""Delete stored Idempotency-Key outcomes older than the retention period."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from orders_write.models import IdempotencyRecord

MIN_HOURS = 24  # the API promises to keep keys at least this long


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than --hours (at least 24)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=48)

    def handle(self, *args, hours: int, **options):
        if hours < MIN_HOURS:
            raise CommandError(f"Keys are kept at least {MIN_HOURS} hours; --hours={hours}.")
        cutoff = timezone.now() - timedelta(hours=hours)
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"Deleted {deleted} idempotency records older than {hours} hours.")
