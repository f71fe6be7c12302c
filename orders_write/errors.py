"""Errors of the write side's application layer (the domain's own are in domain.errors)."""


class UnknownCommand(LookupError):
    """No handler is registered for this command type."""


class OrderNotFound(LookupError):
    """The order does not exist, or the actor may not see it."""


class NotAllowed(PermissionError):
    """The actor may not run this command."""


class PreconditionFailed(Exception):
    """If-Match named a version the order is no longer (or not yet) at."""


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was first used with another request body."""


class ConcurrentModification(Exception):
    """Other commands kept winning the race for the order's next version."""
