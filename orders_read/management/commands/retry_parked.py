"""Retry parked streams now, in stream order, instead of waiting for their backoff."""

from django.core.management.base import BaseCommand, CommandError

from orders_read import retries, runner
from orders_read.models import ParkedStream


class Command(BaseCommand):
    help = (
        "Retry every parked stream of the named projections (default: all) now. A stream "
        "whose events apply is un-parked; one that fails again stays parked, with its error."
    )

    def add_arguments(self, parser):
        parser.add_argument("projections", nargs="*", metavar="PROJECTION")

    def handle(self, *args, **options):
        try:
            names = runner.projection_names(options["projections"])
        except runner.UnknownProjection as exc:
            raise CommandError(str(exc)) from None
        still = 0
        for name in names:
            outcome = retries.parked_retry(name, force=True)
            self.stdout.write(f"{name}: {outcome.summary()}")
            still += len(outcome.failed)
        left = ParkedStream.objects.using(runner.READ_DB).filter(projection__in=names).count()
        if still or left:
            raise CommandError(f"{left} stream(s) still parked.")
