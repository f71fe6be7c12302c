"""Orders in the admin: a read-only list, each order's events, and ship/cancel actions."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from config.bootstrap import command_bus, query_bus
from orders_write.commands import Actor, CancelOrder, Command, Context, ShipOrder
from orders_write.domain.errors import DomainError
from orders_write.errors import ConcurrentModification, NotAllowed, OrderNotFound

from ..api.serializers import AsOfInput
from ..as_of import AsOf
from ..models import OrderView
from ..projectors.orders import OrderViewProjector
from ..queries import GetOrderAsOf, NotFound, Viewer
from ..selectors import checkpoint_position_get
from .base import StaffReadOnlyAdmin
from .overview import overview_render

# What may refuse one order of a batch; anything else is a bug and should be loud.
REFUSALS = (DomainError, OrderNotFound, NotAllowed, ConcurrentModification)


@dataclass
class Outcomes:
    """What happened to each order of a staff action."""

    done: list[UUID] = field(default_factory=list)
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


def dispatch_each(
    request: HttpRequest, order_ids: list[UUID], make: Callable[[UUID], Command]
) -> Outcomes:
    """Send one command per order through the command bus; collect what each did."""
    bus, context, outcomes = command_bus(), staff_context(request), Outcomes()
    for order_id in order_ids:
        try:
            result = bus.dispatch(make(order_id), context)
        except REFUSALS as refusal:
            outcomes.refused.append(str(refusal))
        else:
            outcomes.done.append(order_id)
            outcomes.last_position = max(outcomes.last_position, result.position)
    return outcomes


def event_history_url(order_id: UUID) -> str:
    """Return the event log admin's list of one order's events."""
    return reverse("admin:eventlog_event_changelist") + "?" + urlencode({"q": str(order_id)})


@admin.register(OrderView)
class OrderViewAdmin(StaffReadOnlyAdmin):
    list_display = [
        "short_id",
        "customer_id",
        "status",
        "currency",
        "total",
        "item_count",
        "placed_at",
        "history_link",
    ]
    list_filter = ["status", "currency", ("placed_at", admin.DateFieldListFilter)]
    search_fields = ["=order_id", "=customer_id", "tracking_number"]
    date_hierarchy = "placed_at"
    ordering = ["-placed_position"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["ship_selected", "cancel_selected"]
    fields = [
        "order_id",
        "history_link",
        "customer_id",
        "status",
        "currency",
        "items_display",
        "item_count",
        "total",
        "address_display",
        "tracking_number",
        "placed_at",
        "updated_at",
        "shipped_at",
        "cancelled_at",
        "version",
    ]
    readonly_fields = fields
    # The change page adds a "state at" picker: ?as_of= shows the order as it was then.
    change_form_template = "admin/ordinal/orderview_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Show the order, or with ?as_of= its state at that instant (the API's query)."""
        value = request.GET.get("as_of")
        if not value:
            return super().change_view(request, object_id, form_url, extra_context)
        found = self._state_at(request, object_id, value)
        if found is None:
            return HttpResponseRedirect(request.path)
        instant, state = found
        request.ordinal_as_of = state  # what get_object shows
        context = {
            **(extra_context or {}),
            "as_of": instant.isoformat(),
            # What a datetime-local input holds: the instant in UTC, without an offset.
            "as_of_input": instant.astimezone(UTC)
            .replace(tzinfo=None)
            .isoformat("T", "milliseconds"),
            "as_of_position": state.position,
        }
        return super().change_view(request, object_id, form_url, context)

    def get_object(self, request, object_id, from_field=None):
        state = getattr(request, "ordinal_as_of", None)
        if state is not None:
            return state.value
        return super().get_object(request, object_id, from_field)

    def _state_at(
        self, request: HttpRequest, object_id: str, value: str
    ) -> tuple[datetime, AsOf] | None:
        """Return the instant typed and the order as of it, or None after saying why not."""
        parsed = AsOfInput(data={"as_of": value})
        if not parsed.is_valid():
            message = " ".join(str(m) for m in parsed.errors.get("as_of", ["Invalid."]))
            self.message_user(request, f"State at {value!r}: {message}", messages.ERROR)
            return None
        instant = parsed.validated_data["as_of"]
        try:
            order_id = UUID(object_id)
        except ValueError:
            order_id = None
        viewer = Viewer(request.user.get_username(), is_staff=True)
        try:
            if order_id is None:
                raise NotFound(f"Order {object_id} not found.")
            query = GetOrderAsOf(viewer=viewer, order_id=order_id, as_of=instant)
            return instant, query_bus().dispatch(query).value
        except NotFound:
            self.message_user(
                request,
                f"The order was not placed yet at {instant.isoformat()}.",
                messages.WARNING,
            )
            return None

    def get_urls(self):
        overview = self.admin_site.admin_view(self.overview_view)
        return [path("overview/", overview, name="ordinal_overview"), *super().get_urls()]

    @admin.display(description="order", ordering="placed_position")
    def short_id(self, order: OrderView) -> str:
        # The full UUID wraps over four lines; its head is enough to tell orders apart.
        full = str(order.order_id)
        return format_html('<span title="{}">{}…</span>', full, full[:8])

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """Show the manager's overview (linked from the admin index)."""
        return overview_render(request, self.admin_site)

    @admin.display(description="events")
    def history_link(self, order: OrderView) -> str:
        return format_html('<a href="{}">event history</a>', event_history_url(order.order_id))

    @admin.display(description="items")
    def items_display(self, order: OrderView) -> str:
        return _pretty(order.items)

    @admin.display(description="shipping address")
    def address_display(self, order: OrderView) -> str:
        return address_lines(order.shipping_address)

    @admin.action(description="Ship selected orders")
    def ship_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(request, queryset, lambda order_id: ShipOrder(order_id), "shipped")

    @admin.action(description="Cancel selected orders")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        reason = f"cancelled by staff ({request.user.get_username()}) in the admin"
        self._run(request, queryset, lambda order_id: CancelOrder(order_id, reason), "cancelled")

    def _run(self, request, queryset, make: Callable[[UUID], Command], verb: str) -> None:
        # Ids first: the commands run on the write database, never inside a read query.
        order_ids = list(queryset.order_by("placed_position").values_list("order_id", flat=True))
        outcomes = dispatch_each(request, order_ids, make)
        self.message_user(request, outcomes.summary(verb), outcomes.level)
        # With a broker, workers project the new events a moment later than this answer.
        if checkpoint_position_get(names=(OrderViewProjector.name,)) < outcomes.last_position:
            self.message_user(
                request,
                "The list may show the old status for a moment: the read model is catching up.",
                messages.INFO,
            )


def address_lines(address: dict[str, str]) -> str:
    """Render a structured address as a postal label: one line per part given."""
    if not address:
        return "(none)"
    town = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
    lines = [address.get("name"), address.get("line1"), address.get("line2"), town]
    lines.append(address.get("country"))
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines if line))


def _pretty(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))
