"""Store and replay the first outcome of a request sent with an Idempotency-Key."""

from django.db import IntegrityError, transaction

from .commands import CommandResult, Idempotency
from .domain.errors import RuleViolation
from .errors import IdempotencyKeyReused
from .models import IdempotencyRecord


class DuplicateInFlight(Exception):
    """Another request with the same key committed first; replay its outcome."""


class RecordedRefusal(RuleViolation):
    """A rule refusal replayed from an earlier request with the same key."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


Outcome = CommandResult | RuleViolation


def outcome_find(idempotency: Idempotency) -> Outcome | None:
    """Return the stored outcome for this key, or None if the key is new."""
    record = (
        IdempotencyRecord.objects.using("default")
        .filter(scope=idempotency.scope, key=idempotency.key)
        .first()
    )
    if record is None:
        return None
    if record.fingerprint != idempotency.fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request."
        )
    if "refused" in record.outcome:
        return RecordedRefusal(**record.outcome["refused"])
    stored = record.outcome["result"]
    return CommandResult(stored["order_id"], stored["version"], stored["position"])


def outcome_save(idempotency: Idempotency, outcome: Outcome) -> None:
    """Store the outcome; raise DuplicateInFlight if a concurrent request stored one first."""
    if isinstance(outcome, RuleViolation):
        data = {"refused": {"code": outcome.code, "detail": str(outcome)}}
    else:
        data = {
            "result": {
                "order_id": str(outcome.order_id),
                "version": outcome.version,
                "position": outcome.position,
            }
        }
    try:
        # On PostgreSQL this INSERT waits for a concurrent one with the same key to finish.
        with transaction.atomic(using="default"):
            IdempotencyRecord.objects.using("default").create(
                scope=idempotency.scope,
                key=idempotency.key,
                fingerprint=idempotency.fingerprint,
                outcome=data,
            )
    except IntegrityError:
        raise DuplicateInFlight() from None
