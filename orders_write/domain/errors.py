"""Errors the domain raises when a value or a rule refuses a change."""


class DomainError(Exception):
    """Base class of every error the order domain raises."""


class InvalidValue(DomainError, ValueError):
    """A value is malformed or out of bounds (the client sent something invalid)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnreadableSnapshot(ValueError):
    """A snapshot's state is not one this code can restore an order from (replay instead).

    Not a DomainError: no client can cause it, so it is never answered; the repository
    catches it and replays the order's stream.
    """


class RuleViolation(DomainError):
    """A business rule refuses the command in the order's current state."""

    code = "rule-violation"


class OrderNotPlaced(RuleViolation):
    code = "order-not-placed"


class DuplicateSku(RuleViolation):
    code = "duplicate-sku"


class UnknownSku(RuleViolation):
    code = "unknown-sku"


class LastItem(RuleViolation):
    code = "last-item"


class TooManyItems(RuleViolation):
    code = "too-many-items"


class QuantityUnchanged(RuleViolation):
    code = "quantity-unchanged"


class OrderAlreadyExists(RuleViolation):
    code = "order-exists"


class CustomerAlreadyForgotten(RuleViolation):
    code = "customer-already-forgotten"


class CustomerForgottenRefusal(RuleViolation):
    """Nothing new is recorded with the personal data of a forgotten customer."""

    code = "customer-forgotten"
