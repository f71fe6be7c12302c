"""Build new generations of read models beside the live ones and swap them in, with progress."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from orders_read import rebuilds, runner

from ._progress import ProgressBars


class Command(BaseCommand):
    help = (
        "Rebuild the named projections (default: all) without downtime: replay the whole "
        "event log into new tables beside the live ones, in one pass for all of them, then "
        "swap each in atomically. Readers see the live models until the swap; workers keep "
        "them caught up meanwhile. A rebuild left unfinished (its builder killed) is resumed."
    )
    kind = "rebuild"

    def add_arguments(self, parser):
        parser.add_argument("projections", nargs="*", metavar="PROJECTION")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args, **options):
        try:
            names = runner.projection_names(options["projections"])
        except runner.UnknownProjection as exc:
            raise CommandError(str(exc)) from None
        with transaction.atomic(using=rebuilds.READ_DB):
            # All or none: a projection refused leaves none of the others queued.
            builds = [self.request(name) for name in names]
        bars = ProgressBars(self.stderr, disable=options["no_progress"])
        with bars:
            count = rebuilds.rebuilds_run(
                [b.pk for b in builds], batch_size=options["batch_size"], progress=bars.update
            )
        failed = False
        for build in builds:
            build.refresh_from_db(using=rebuilds.READ_DB)
            if build.status == build.DONE:
                self.stdout.write(self.style.SUCCESS(f"{build.kind} {build.result}"))
            elif build.status == build.FAILED:
                failed = True
                self.stdout.write(self.style.ERROR(f"{build.kind} {build.result}"))
            else:
                self.stdout.write(
                    f"{build.projection}: {build.kind} left {build.status} to "
                    f"another builder at position {build.position}"
                )
        self.stdout.write(f"{count} events read.")
        if failed:
            raise CommandError("A verification found differences.")

    def request(self, name: str):
        """Queue this command's kind of rebuild; take over one whose builder is gone."""
        try:
            return rebuilds.rebuild_request(name, self.kind)
        except rebuilds.RebuildRunning as running:
            if rebuilds.rebuild_stale(running.active):
                self.stderr.write(f"Resuming the stalled {running.active}.")
                return running.active
            raise CommandError(str(running)) from None
