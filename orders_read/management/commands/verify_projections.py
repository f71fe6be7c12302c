"""Replay the log into new tables and compare them with the live read models, with progress."""

from .rebuild_projections import Command as RebuildCommand


class Command(RebuildCommand):
    help = (
        "Verify the named projections (default: all): replay the event log into new tables "
        "beside the live ones up to the live checkpoint, compare them row by row with the "
        "live models, then drop them. Nothing live changes; workers keep running."
    )
    kind = "verify"
