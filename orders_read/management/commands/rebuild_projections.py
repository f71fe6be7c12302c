"""Replay the whole event log into emptied read models, with progress shown."""

import time

from django.core.management.base import BaseCommand, CommandError

from orders_read import runner


class Command(BaseCommand):
    help = (
        "Empty the named projections' read models (default: all), reset their checkpoints "
        "and replay the whole event log. Safe while workers run: each rebuild is one "
        "transaction holding the projection's lock."
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
            started = time.monotonic()

            def progress(position: int, head: int, name: str = name) -> None:
                self.stdout.write(f"{name}: position {position} of {head}")

            try:
                count = runner.projection_rebuild(
                    name, batch_size=options["batch_size"], progress=progress
                )
            except runner.HandlerFailed as exc:
                raise CommandError(f"{name}: rebuild rolled back, {exc}") from None
            elapsed = time.monotonic() - started
            self.stdout.write(
                self.style.SUCCESS(f"{name}: rebuilt from {count} events in {elapsed:.1f}s")
            )
