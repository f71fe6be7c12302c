"""Staff commands from the admin: the forms, the dispatch as the staff user, read-your-writes.

The admin never edits a row (invariant 7): shipping, cancelling and forgetting are
ShipOrder, CancelOrder and ForgetCustomer commands on the command bus, sent as the staff
member. The page that follows waits for the order read model to reach the commands'
position, as the API's `?min_position=` does, so staff see the state they made.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from config.bootstrap import command_bus, query_bus
from orders_write.commands import Actor, Command, Context
from orders_write.domain.errors import DomainError
from orders_write.domain.values import MAX_REASON_LENGTH, MAX_TRACKING_NUMBER_LENGTH
from orders_write.errors import (
    ConcurrentModification,
    CustomerNotFound,
    NotAllowed,
    OrderNotFound,
)

from ..projectors.orders import OrderViewProjector
from ..queries import ReadModelBehind

# What may refuse one order (or customer) of a batch; anything else is a bug and should be loud.
REFUSALS = (DomainError, OrderNotFound, CustomerNotFound, NotAllowed, ConcurrentModification)
# The query parameter of a page that must show at least this log position.
MIN_POSITION = "min_position"
ORDERS = (OrderViewProjector.name,)
# What a staff action acts on: orders by id, customers by id.
Target = UUID | str
T = TypeVar("T", UUID, str)


@dataclass
class Outcomes:
    """What happened to each order (or customer) of a staff action."""

    done: list[Target] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    last_position: int = 0

    def summary(self, verb: str) -> str:
        """Return e.g. "3 shipped, 1 refused: Order … is cancelled; …"."""
        text = f"{len(self.done)} {verb}"
        if self.refused:
            text += f", {len(self.refused)} refused: " + " ".join(self.refused)
        return text

    @property
    def level(self) -> int:
        if not self.refused:
            return messages.SUCCESS
        return messages.WARNING if self.done else messages.ERROR


def staff_context(request: HttpRequest) -> Context:
    """Return the command context of a staff member acting in the admin."""
    actor = Actor(request.user.get_username(), is_staff=True)
    correlation_id = getattr(request, "correlation_id", None)
    return Context(actor=actor, correlation_id=correlation_id) if correlation_id else Context(actor)


def staff_reason(request: HttpRequest) -> str:
    """Return the reason a staff cancellation records when none is given."""
    return f"cancelled by staff ({request.user.get_username()}) in the admin"


def dispatch_each(
    request: HttpRequest, targets: Iterable[T], make: Callable[[T], Command]
) -> Outcomes:
    """Send one command per order (or customer) through the command bus; collect what each did."""
    bus, context, outcomes = command_bus(), staff_context(request), Outcomes()
    for target in targets:
        try:
            result = bus.dispatch(make(target), context)
        except REFUSALS as refusal:
            outcomes.refused.append(str(refusal))
        else:
            outcomes.done.append(target)
            outcomes.last_position = max(outcomes.last_position, result.position)
    return outcomes


def with_position(url: str, position: int) -> str:
    """Return the URL asking its page to show at least `position` (unchanged for 0)."""
    if not position:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != MIN_POSITION]
    query.append((MIN_POSITION, str(position)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def read_your_writes(request: HttpRequest) -> None:
    """Take `min_position` out of the query and wait until the order read model has it.

    The admin's list would read an unknown parameter as a filter, so it goes in any
    case. If the projection does not get there within the query bus's wait, the page
    says that it may show the old state, rather than showing it silently.
    """
    if MIN_POSITION not in request.GET:
        return
    query = request.GET.copy()
    wanted = query.pop(MIN_POSITION)[-1]
    request.GET = query
    if request.method != "GET" or not wanted.isdigit():
        return
    try:
        query_bus().wait_for(ORDERS, int(wanted))
    except ReadModelBehind as behind:
        messages.warning(
            request,
            f"This page may show the old state: the order read model has reached log "
            f"position {behind.position}, not yet {behind.wanted} (your change). "
            f"Reload it in a moment.",
        )


def printable(value: str) -> None:
    """Refuse what the domain would: control characters in free text."""
    if not value.isprintable():
        raise ValidationError("Must be printable text.")


def tracking_number_field(**attrs: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=MAX_TRACKING_NUMBER_LENGTH,
        validators=[printable],
        widget=forms.TextInput(attrs={"size": 24, **attrs}),
    )


class ShipForm(forms.Form):
    """Ship one order, with the carrier's tracking number if there is one."""

    tracking_number = tracking_number_field()


class CancelForm(forms.Form):
    """Cancel one order, saying why if staff want to."""

    reason = forms.CharField(
        required=False,
        max_length=MAX_REASON_LENGTH,
        validators=[printable],
        widget=forms.TextInput(attrs={"size": 40}),
    )


class ShipOrdersForm(forms.Form):
    """Ship several orders: one optional tracking number per order."""

    def __init__(self, order_ids: Iterable[UUID], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for order_id in order_ids:
            label = f"Tracking number of order {order_id}"
            self.fields[self.name_of(order_id)] = tracking_number_field(**{"aria-label": label})

    @staticmethod
    def name_of(order_id: UUID) -> str:
        return f"tracking-{order_id}"

    def rows(self, orders: Iterable) -> list[tuple]:
        """Return (order, its tracking number's bound field) per order, for the page."""
        return [(order, self[self.name_of(order.order_id)]) for order in orders]

    def tracking_number(self, order_id: UUID) -> str:
        """Return the tracking number entered for the order ("" for none)."""
        return self.cleaned_data[self.name_of(order_id)]
