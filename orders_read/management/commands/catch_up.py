"""Run projections up to the head of the event log now."""

from django.core.management.base import BaseCommand, CommandError

from orders_read import runner


class Command(BaseCommand):
    help = "Catch the named projections (default: all) up to the head of the event log."

    def add_arguments(self, parser):
        parser.add_argument("projections", nargs="*", metavar="PROJECTION")
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, **options):
        try:
            names = runner.projection_names(options["projections"])
        except runner.UnknownProjection as exc:
            raise CommandError(str(exc)) from None
        failures = []
        for name in names:
            try:
                # An operator asking now means now: retry a failing projection at once.
                count = runner.projection_catch_up(
                    name, batch_size=options["batch_size"], force=True
                )
            except runner.ProjectionFailed as exc:
                failures.append(str(exc))
                self.stderr.write(self.style.ERROR(str(exc)))
                continue
            self.stdout.write(f"{name}: applied {count} events")
        if failures:
            raise CommandError(f"{len(failures)} projection(s) stopped on a failing event.")
