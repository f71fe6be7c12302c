"""Errors of the write side's application layer (the domain's own are in domain.errors)."""


class ApplicationError(Exception):
    """A refusal of the application layer; it names the HTTP status and problem type it gets."""

    status: int = 400
    problem_type: str = "bad-request"


class UnknownCommand(LookupError):
    """No handler is registered for this command type (a wiring bug, so a plain 500)."""


class OrderNotFound(ApplicationError, LookupError):
    """The order does not exist, or the actor may not see it."""

    status = 404
    problem_type = "not-found"


class CustomerNotFound(ApplicationError, LookupError):
    """No customer has this id: no account, no orders, no record of being forgotten."""

    status = 404
    problem_type = "not-found"


class NotAllowed(ApplicationError, PermissionError):
    """The actor may not run this command."""

    status = 403
    problem_type = "permission-denied"


class PreconditionFailed(ApplicationError):
    """If-Match named a version the order is no longer (or not yet) at."""

    status = 412
    problem_type = "precondition-failed"


class IdempotencyKeyReused(ApplicationError):
    """The Idempotency-Key was first used with another request body."""

    status = 422
    problem_type = "idempotency-key-reused"


class ConcurrentModification(ApplicationError):
    """Other commands kept winning the race for the order's next version."""

    status = 409
    problem_type = "concurrent-modification"


class UnknownCustomer(ApplicationError):
    """Staff named a customer that has no account: a validation error on `customer_id`."""

    status = 400
    problem_type = "validation-error"
    field = "customer_id"
