"""Run projections up to the head of the event log now."""

from django.core.management.base import BaseCommand, CommandError

from orders_read import runner
from orders_read.models import ParkedStream


class Command(BaseCommand):
    help = (
        "Catch the named projections (default: all) up to the head of the event log, "
        "retrying their parked streams first; a projection never built is built."
    )

    def add_arguments(self, parser):
        parser.add_argument("projections", nargs="*", metavar="PROJECTION")
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, **options):
        try:
            names = runner.projection_names(options["projections"])
        except runner.UnknownProjection as exc:
            raise CommandError(str(exc)) from None
        for name in names:
            # An operator asking now means now: parked streams are retried at once.
            count = runner.projection_catch_up(name, batch_size=options["batch_size"], force=True)
            parked = ParkedStream.objects.using(runner.READ_DB).filter(projection=name).count()
            note = f" ({parked} stream(s) parked: see retry_parked)" if parked else ""
            self.stdout.write(f"{name}: applied {count} events{note}")
