"""The command bus: run one handler per command in a write transaction, with retries."""

import random
import time
from collections.abc import Callable, Mapping

from django.db import transaction

from eventlog.store import ConcurrencyError

from .commands import Command, CommandResult, Context
from .domain.errors import RuleViolation
from .errors import ConcurrentModification, PreconditionFailed, UnknownCommand
from .idempotency import DuplicateInFlight, Outcome, outcome_find, outcome_save

Handler = Callable[[Command, Context], CommandResult]
# Called with the result inside the attempt's transaction (the inbox stores the outcome
# there); what it raises rolls the attempt back and leaves `dispatch`.
Within = Callable[[CommandResult], None]


class CommandBus:
    """Dispatch commands to their handlers.

    Each attempt runs in one transaction on the write database: the events, the
    idempotency record and the post-commit nudge commit together or not at all.
    """

    def __init__(
        self,
        handlers: Mapping[type[Command], Handler],
        *,
        after_commit: Callable[[int], None],
        attempts: int = 30,
    ) -> None:
        self.handlers = dict(handlers)
        self.after_commit = after_commit
        self.attempts = attempts

    def dispatch(
        self, command: Command, context: Context, *, within: Within | None = None
    ) -> CommandResult:
        """Run the command; return its result or raise the error that refused it.

        `within`, if given, is called with the result in the transaction of the events
        (also with a result replayed for an Idempotency-Key).
        """
        handler = self.handlers.get(type(command))
        if handler is None:
            raise UnknownCommand(f"No handler is registered for {type(command).__name__}.")
        looked_for_twin = False
        for attempt in range(1, self.attempts + 1):
            try:
                outcome = self._attempt(handler, command, context, within)
            except DuplicateInFlight:
                continue  # the next attempt finds and replays the stored outcome
            except (ConcurrencyError, PreconditionFailed) as exc:
                if context.idempotency is not None and not looked_for_twin:
                    # The change that beat us may be a concurrent request with the same
                    # key: it has committed, so the next attempt replays its outcome.
                    looked_for_twin = True
                    continue
                if getattr(command, "expected_version", None) is not None:
                    raise PreconditionFailed(str(exc)) from None
                if attempt == self.attempts:
                    raise ConcurrentModification(
                        f"The order kept changing; gave up after {attempt} attempts."
                    ) from None
                time.sleep(random.uniform(0, 0.002 * attempt))
                continue
            if isinstance(outcome, RuleViolation):
                raise outcome
            return outcome
        raise ConcurrentModification("Gave up waiting for a concurrent identical request.")

    def _attempt(
        self, handler: Handler, command: Command, context: Context, within: Within | None
    ) -> Outcome:
        key = context.idempotency
        with transaction.atomic(using="default"):
            if key is not None:
                stored = outcome_find(key)
                if stored is not None:
                    if within is not None and isinstance(stored, CommandResult):
                        within(stored)
                    return stored
            try:
                outcome: Outcome = handler(command, context)
            except RuleViolation as refusal:
                if key is None:
                    raise
                outcome = refusal
            if key is not None:
                outcome_save(key, outcome)
            if isinstance(outcome, CommandResult):
                if within is not None:
                    within(outcome)
                position = outcome.position  # the nudge says how far the read side must get
                transaction.on_commit(lambda: self.after_commit(position), using="default")
            return outcome
