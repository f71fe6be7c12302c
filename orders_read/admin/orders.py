"""Orders in the admin: a read-only list, each order's page and events, ship and cancel.

Shipping and cancelling are commands (see `staff_commands`): the list's actions, and
the order page's Ship and Cancel buttons.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from config.bootstrap import query_bus
from eventlog.admin import FORGOTTEN
from orders_write.commands import CancelOrder, Command, ShipOrder

from ..api.serializers import AsOfInput
from ..as_of import AsOf
from ..models import OrderView
from ..queries import GetOrderAsOf, NotFound, Viewer
from .base import StaffReadOnlyAdmin
from .overview import overview_render
from .staff_commands import (
    CancelForm,
    ShipForm,
    ShipOrdersForm,
    dispatch_each,
    read_your_writes,
    staff_reason,
    with_position,
)


def event_history_url(order_id: UUID) -> str:
    """Return the event log admin's list of one order's events."""
    return reverse("admin:eventlog_event_changelist") + "?" + urlencode({"q": str(order_id)})


def change_url(order_id: UUID) -> str:
    return reverse("admin:orders_read_orderview_change", args=[order_id])


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

    def changelist_view(self, request, extra_context=None):
        """Show the list, once the read model has the changes just made (?min_position=)."""
        read_your_writes(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Show the order, or with ?as_of= its state at that instant (the API's query)."""
        read_your_writes(request)
        value = request.GET.get("as_of")
        if not value:
            # Ship and Cancel act on the current order, never on a past state.
            forms = {"ship_form": ShipForm(), "cancel_form": CancelForm()}
            return super().change_view(
                request, object_id, form_url, {**(extra_context or {}), **forms}
            )
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
        wrap = self.admin_site.admin_view  # staff only, CSRF-checked
        return [
            path("overview/", wrap(self.overview_view), name="ordinal_overview"),
            path("<uuid:order_id>/ship/", wrap(self.ship_view), name="orders_read_orderview_ship"),
            path(
                "<uuid:order_id>/cancel/",
                wrap(self.cancel_view),
                name="orders_read_orderview_cancel",
            ),
            *super().get_urls(),
        ]

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
        return items_table(order)

    @admin.display(description="shipping address")
    def address_display(self, order: OrderView) -> str:
        if order.redacted:  # the customer was forgotten: not "(none)", which was never given
            return FORGOTTEN
        return address_lines(order.shipping_address)

    @admin.action(description="Ship selected orders…")
    def ship_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        """Ask for each order's tracking number, then ship them (ShipOrder each)."""
        # Rows first: the commands run on the write database, never inside a read query.
        orders = list(queryset.order_by("placed_position"))
        confirmed = request.POST.get("post") == "yes"
        form = ShipOrdersForm([o.order_id for o in orders], request.POST if confirmed else None)
        if confirmed and form.is_valid():
            return self._run(
                request,
                [o.order_id for o in orders],
                lambda order_id: ShipOrder(
                    order_id, tracking_number=form.tracking_number(order_id)
                ),
                "shipped",
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Ship orders",
            "opts": self.model._meta,
            "rows": form.rows(orders),
            "form": form,
            "back": request.get_full_path(),
        }
        return TemplateResponse(request, "admin/ordinal/ship_orders.html", context)

    @admin.action(description="Cancel selected orders")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        reason = staff_reason(request)
        order_ids = list(queryset.order_by("placed_position").values_list("order_id", flat=True))
        return self._run(
            request, order_ids, lambda order_id: CancelOrder(order_id, reason), "cancelled"
        )

    def ship_view(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        """Ship one order from its page, with the tracking number typed (POST)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = ShipForm(request.POST)
        if not form.is_valid():
            return self._form_refused(request, order_id, form)
        tracking_number = form.cleaned_data["tracking_number"]
        command = ShipOrder(order_id, tracking_number=tracking_number)
        return self._run_one(request, order_id, command, "shipped")

    def cancel_view(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        """Cancel one order from its page, with the reason typed if any (POST)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = CancelForm(request.POST)
        if not form.is_valid():
            return self._form_refused(request, order_id, form)
        reason = form.cleaned_data["reason"] or staff_reason(request)
        return self._run_one(request, order_id, CancelOrder(order_id, reason), "cancelled")

    def _run(
        self, request, order_ids: list[UUID], make: Callable[[UUID], Command], verb: str
    ) -> HttpResponse:
        """Send the commands, report each outcome, and show the list once it has them."""
        outcomes = dispatch_each(request, order_ids, make)
        self.message_user(request, outcomes.summary(verb), outcomes.level)
        # With a broker, workers project the new events a moment after this answer: the
        # list waits for them (read-your-writes) and says so if they are late.
        return HttpResponseRedirect(with_position(request.get_full_path(), outcomes.last_position))

    def _run_one(self, request, order_id: UUID, command: Command, verb: str) -> HttpResponse:
        outcomes = dispatch_each(request, [order_id], lambda _: command)
        if outcomes.done:
            self.message_user(request, f"Order {order_id} {verb}.", messages.SUCCESS)
        else:
            self.message_user(request, " ".join(outcomes.refused), messages.ERROR)
        return HttpResponseRedirect(with_position(change_url(order_id), outcomes.last_position))

    def _form_refused(self, request, order_id: UUID, form) -> HttpResponse:
        for name, errors in form.errors.items():
            self.message_user(
                request, f"{name.replace('_', ' ')}: {' '.join(errors)}", messages.ERROR
            )
        return HttpResponseRedirect(change_url(order_id))


def address_lines(address: dict[str, str]) -> str:
    """Render a structured address as a postal label: one line per part given."""
    if not address:
        return "(none)"
    town = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
    lines = [address.get("name"), address.get("line1"), address.get("line2"), town]
    lines.append(address.get("country"))
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines if line))


def items_table(order: OrderView) -> SafeString:
    """Render the order's items as a table: SKU, quantity, unit price, line total, total."""
    right = mark_safe(' style="text-align:right"')
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td{}>{}</td><td{}>{}</td><td{}>{}</td></tr>",
        (
            (i["sku"], right, i["quantity"], right, i["unit_price"], right, i["line_total"])
            for i in order.items
        ),
    )
    return format_html(
        '<table class="ordinal-items"><thead><tr><th>SKU</th><th{}>Quantity</th>'
        "<th{}>Unit price ({})</th><th{}>Line total ({})</th></tr></thead>"
        '<tbody>{}</tbody><tfoot><tr><td colspan="3"><strong>Total</strong></td>'
        "<td{}><strong>{}</strong></td></tr></tfoot></table>",
        right,
        right,
        order.currency,
        right,
        order.currency,
        rows,
        right,
        order.total,
    )
