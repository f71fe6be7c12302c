"""Replay the whole event log into emptied read models, with progress shown."""

import time

from django.core.management.base import BaseCommand, CommandError

from orders_read import runner


class Command(BaseCommand):
    help = (
        "Empty the named projections' read models (default: all), reset their checkpoints "
        "and replay the whole event log into them in one pass. Safe while workers run: "
        "the rebuild is one transaction holding the projections' locks."
    )

    def add_arguments(self, parser):
        parser.add_argument("projections", nargs="*", metavar="PROJECTION")
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, **options):
        try:
            names = runner.projection_names(options["projections"])
        except runner.UnknownProjection as exc:
            raise CommandError(str(exc)) from None
        started = time.monotonic()
        label = ", ".join(names)

        def progress(position: int, head: int) -> None:
            self.stdout.write(f"{label}: position {position} of {head}")

        try:
            count = runner.projections_rebuild(
                names, batch_size=options["batch_size"], progress=progress
            )
        except runner.HandlerFailed as exc:
            raise CommandError(f"rebuild rolled back, {exc}") from None
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(f"{label}: rebuilt from {count} events in {elapsed:.1f}s")
        )
