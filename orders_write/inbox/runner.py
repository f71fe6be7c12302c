"""Run an inbox entry exactly once, whatever the broker does.

A runner takes the entry with a conditional UPDATE (queued to running, or running past
its lease: its runner died), which also counts the attempt: that count is the runner's
fencing token. The outcome is stored by another conditional UPDATE, "still running and
still my attempt": a success in the transaction of the command's events (the command
bus calls back inside it), so the events and the outcome commit together or not at
all, and a runner whose lease was taken over rolls its events back. Redelivered tasks,
tasks the sweep sent again and racing workers find the entry taken or done and stop.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import InterfaceError, OperationalError, connections, transaction
from django.utils import timezone

from ..bus import CommandBus
from ..commands import Actor, CommandResult, Context, Idempotency
from ..errors import ConcurrentModification
from ..models import InboxCommand
from .codec import command_from, result_body
from .entries import WRITE_DB

logger = logging.getLogger(__name__)

# Worth another attempt later: the database went away, or other commands kept winning
# the order's next version.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConcurrentModification)
# Free to take: queued, or running past its lease (its runner died, or stalls: the fence
# keeps a stalled one from committing).
TAKE = (
    "UPDATE {} SET status = 'running', started_at = %s, attempts = attempts + 1 "
    "WHERE command_id = %s AND (status = 'queued' OR (status = 'running' AND started_at < %s)) "
    "RETURNING *"
)


class LeaseLost(Exception):
    """Another runner took the entry over (this one outlived its lease): commit nothing."""


class RetryLater(Exception):
    """A transient error: the entry is queued again; the task should retry it later."""


class CommandRunner:
    """Runs inbox entries through the command bus; `problem_of` renders a refusal."""

    def __init__(
        self,
        bus: CommandBus,
        *,
        keys: Any,
        problem_of: Callable[[Exception], dict[str, Any]],
        lease: timedelta,
        attempts: int,
    ) -> None:
        self.bus = bus
        self.keys = keys
        self.problem_of = problem_of
        self.lease = lease
        self.attempts = attempts

    def run(self, command_id: UUID) -> str | None:
        """Run the entry if it is free to take; return its new status (None if not taken).

        Raise RetryLater after a transient error (the entry is queued again).
        """
        entry = self.take(command_id)
        return None if entry is None else self.run_taken(entry)

    def run_taken(self, entry: InboxCommand) -> str | None:
        """Run an entry this runner took; return its new status (None if taken over)."""
        command_id, token = entry.command_id, entry.attempts
        try:
            command = command_from(entry.command_type, entry.arguments, command_id, self.keys)
            self.bus.dispatch(
                command,
                _context(entry),
                within=lambda result: self._succeeded(command_id, token, command, result),
            )
        except LeaseLost:
            logger.warning("Command %s: another runner took it over; this one gave up.", command_id)
            return None
        except TRANSIENT_ERRORS as exc:
            if token >= self.attempts:
                return self._failed(command_id, token, exc)
            if not self._release(command_id, token):
                return None  # taken over meanwhile: its new runner goes on
            raise RetryLater(f"Command {command_id}: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            return self._failed(command_id, token, exc)
        return InboxCommand.SUCCEEDED

    def take(self, command_id: UUID) -> InboxCommand | None:
        """Mark the entry running and count the attempt, if it is free; else None."""
        connection = connections[WRITE_DB]
        now = timezone.now()
        fields = InboxCommand._meta
        params = [
            fields.get_field("started_at").get_db_prep_value(now, connection),
            fields.pk.get_db_prep_value(command_id, connection),
            fields.get_field("started_at").get_db_prep_value(now - self.lease, connection),
        ]
        # One statement, which returns the row it took (one round trip, as each command
        # pays it): of two runners, the second waits for the first's commit (on
        # PostgreSQL) and then finds the entry no longer free.
        taken = list(InboxCommand.objects.using(WRITE_DB).raw(TAKE.format(fields.db_table), params))
        return taken[0] if taken else None

    def _mine(self, command_id: UUID, token: int):
        return InboxCommand.objects.using(WRITE_DB).filter(
            command_id=command_id, status=InboxCommand.RUNNING, attempts=token
        )

    def _succeeded(self, command_id: UUID, token: int, command, result: CommandResult) -> None:
        # Inside the bus's transaction, with the events: both commit, or neither.
        done = self._mine(command_id, token).update(
            status=InboxCommand.SUCCEEDED,
            result=result_body(command, result),
            finished_at=timezone.now(),
        )
        if not done:
            raise LeaseLost()

    def _failed(self, command_id: UUID, token: int, exc: Exception) -> str | None:
        """Store the refusal as the outcome; return "failed" (None if taken over)."""
        problem = self.problem_of(exc)
        if problem["status"] >= 500:
            logger.error("Command %s failed unexpectedly.", command_id, exc_info=exc)
        with transaction.atomic(using=WRITE_DB):
            done = self._mine(command_id, token).update(
                status=InboxCommand.FAILED, problem=problem, finished_at=timezone.now()
            )
        return InboxCommand.FAILED if done else None

    def _release(self, command_id: UUID, token: int) -> bool:
        """Queue the entry again for a later attempt; False if it is no longer ours."""
        try:
            with transaction.atomic(using=WRITE_DB):
                return bool(self._mine(command_id, token).update(status=InboxCommand.QUEUED))
        except TRANSIENT_ERRORS:
            return True  # still running: once its lease is over, the sweep sends it again


def _context(entry: InboxCommand) -> Context:
    key = None
    if entry.idempotency_key:
        key = Idempotency(
            entry.idempotency_scope, entry.idempotency_key, entry.idempotency_fingerprint
        )
    return Context(
        actor=Actor(entry.sender, entry.sender_is_staff),
        correlation_id=entry.correlation_id,
        command_id=str(entry.command_id),
        idempotency=key,
    )
