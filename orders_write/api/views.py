"""The write side's half of the orders ViewSet: POST actions, each dispatching one command."""

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.openapi import ETAG, LOCATION, REQUEST_ID, RETRY_AFTER, problems
from config.openapi import IDEMPOTENCY_KEY as IDEMPOTENCY_KEY_HEADER
from config.openapi import IF_MATCH as IF_MATCH_HEADER
from orders_write import commands
from orders_write.domain.values import Line

from . import serializers as inputs
from .async_commands import (
    ACCEPTED,
    COMMAND_LOCATION,
    PREFER,
    PREFERENCE_APPLIED,
    accepted,
    prefers_async,
)

if TYPE_CHECKING:
    from orders_write.bus import CommandBus

    from .async_commands import Accept

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
IF_MATCH = re.compile(r'"([0-9]{1,9})"')


ASYNC_DESCRIPTION = (
    " With `Prefer: respond-async`: 202 once the body is valid, the command runs later; "
    "`Location` names its status (GET /api/commands/{command_id}/)."
)
ASYNC_PARAMETERS = [PREFER, PREFERENCE_APPLIED, COMMAND_LOCATION]


def documented(summary: str, *, success: int = 200, staff_only: bool = False):
    """Describe a command action's POST in the OpenAPI schema."""
    on_order = success == 200
    errors = [400, 401, 403, 409, 413, 415, 422, 429, 503]
    if on_order:
        errors += [404, 412]
    return extend_schema(
        summary=summary,
        description=("Staff only. " if staff_only else "")
        + "Returns the order's new version (also as `ETag`) and the global `position` "
        "of its last event, the token for read-your-writes (`?min_position=`)."
        + ("" if on_order else " `Location` names the new order.")
        + ASYNC_DESCRIPTION,
        parameters=[*ASYNC_PARAMETERS, IDEMPOTENCY_KEY_HEADER, REQUEST_ID, ETAG, RETRY_AFTER]
        + ([IF_MATCH_HEADER] if on_order else [LOCATION]),
        responses={
            success: inputs.CommandResultOutput,
            **ACCEPTED,
            **problems(*sorted(errors)),
        },
        tags=["commands"],
    )


def order_command(summary: str, url_path: str, *, staff_only: bool = False):
    """Declare a POST action on one order (orders/{order_id}/<url_path>/) and document it."""

    def decorate(method: Callable) -> Callable:
        routed = action(detail=True, methods=["post"], url_path=url_path)(method)
        return documented(summary, staff_only=staff_only)(routed)

    return decorate


class CommandActions:
    """Dispatch one command per POST: the body is validated by the action's input serializer.

    The composed ViewSet sets `command_bus` (the API's composition root does).
    """

    command_bus: Callable[[], "CommandBus"]
    # Stores a command for later (`Prefer: respond-async`); the composition root sets it.
    command_accept: "Accept"
    # Each POST action's body; the browsable API builds its forms from these too.
    command_inputs: dict[str, type[inputs.StrictSerializer]] = {}

    def get_serializer(self, *args, **kwargs) -> serializers.Serializer:
        """Return the input serializer of this request's command (or of the path's POST).

        Asked with nothing to validate (the browsable API's form), it holds an example
        body for the user, so that the form starts from a body that is accepted as is.
        """
        name = self.action if self.action in self.command_inputs else self.action_map.get("post")
        input_class = self.command_inputs[name]
        if not args and "data" not in kwargs:
            user = self.request.user
            example = input_class.example_for(username=user.get_username(), is_staff=user.is_staff)
            kwargs.setdefault("instance", example)
        return input_class(*args, **kwargs)

    def dispatch_command(self, request: Request, command: commands.Command):
        """Dispatch the command in the request's context; return its result."""
        return self.command_bus().dispatch(command, command_context(request))

    def accept_command(self, request: Request, command: commands.Command) -> Response:
        """Store the command in the inbox to run later; answer 202 Accepted."""
        return accepted(request, command, command_context(request), self.command_accept)

    def body(self, request: Request) -> dict[str, Any]:
        """Return the validated body of the action's command; 400 if it is invalid."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class OrderCommands(CommandActions):
    """The commands on orders."""

    command_inputs = {
        "create": inputs.PlaceOrderInput,
        "add_item": inputs.AddItemInput,
        "change_quantity": inputs.ChangeQuantityInput,
        "remove_item": inputs.RemoveItemInput,
        "ship": inputs.ShipOrderInput,
        "cancel": inputs.CancelOrderInput,
    }

    def run(self, request: Request, command: commands.Command, success: int) -> Response:
        """Dispatch the command; answer its result with the order's version as ETag."""
        if prefers_async(request):
            return self.accept_command(request, command)
        result = self.dispatch_command(request, command)
        return Response(
            inputs.CommandResultOutput(result).data,
            status=success,
            headers={"ETag": f'"{result.version}"'},
        )

    def run_on_order(
        self, request: Request, command_class: type[commands.OrderCommand], order_id: uuid.UUID
    ) -> Response:
        """Dispatch a command on an existing order, honouring If-Match."""
        command = command_class(
            order_id, **self.body(request), expected_version=expected_version(request)
        )
        return self.run(request, command, status.HTTP_200_OK)

    @documented("Place an order", success=201)
    def create(self, request: Request) -> Response:
        """Place an order; `Location` names it."""
        data = self.body(request)
        command = commands.PlaceOrder(
            order_id=uuid.uuid4(),
            customer_id=data.get("customer_id") or request.user.username,
            currency=data["currency"],
            items=tuple(Line(i["sku"], i["quantity"], i["unit_price"]) for i in data["items"]),
            shipping_address=data.get("shipping_address"),
        )
        response = self.run(request, command, status.HTTP_201_CREATED)
        if response.status_code == status.HTTP_202_ACCEPTED:
            return response
        # The result's id, not the command's: a replayed Idempotency-Key names the first order.
        response["Location"] = f"/api/orders/{response.data['order_id']}/"
        return response

    @order_command("Add an item (a SKU not yet in the order)", "add-item")
    def add_item(self, request: Request, order_id: uuid.UUID) -> Response:
        """Add an item: a SKU not yet in the order."""
        return self.run_on_order(request, commands.AddItem, order_id)

    @order_command("Change an item's quantity", "change-quantity")
    def change_quantity(self, request: Request, order_id: uuid.UUID) -> Response:
        """Change the quantity of an item in the order."""
        return self.run_on_order(request, commands.ChangeItemQuantity, order_id)

    @order_command("Remove an item (not the last one)", "remove-item")
    def remove_item(self, request: Request, order_id: uuid.UUID) -> Response:
        """Remove an item from the order (not its last one: cancel instead)."""
        return self.run_on_order(request, commands.RemoveItem, order_id)

    @order_command("Ship the order", "ship", staff_only=True)
    def ship(self, request: Request, order_id: uuid.UUID) -> Response:
        """Ship the order (staff only)."""
        return self.run_on_order(request, commands.ShipOrder, order_id)

    @order_command("Cancel the order", "cancel")
    def cancel(self, request: Request, order_id: uuid.UUID) -> Response:
        """Cancel the order."""
        return self.run_on_order(request, commands.CancelOrder, order_id)


class CustomerCommands(CommandActions):
    """The commands on customers."""

    command_inputs = {"forget": inputs.ForgetCustomerInput}

    @extend_schema(
        summary="Forget a customer (crypto-shredding)",
        description="Staff only. Destroys the customer's data key and records "
        "`CustomerForgotten`: their personal data (shipping addresses) reads as redacted "
        "everywhere from then on, for good. Orders, amounts and dates stay. 409 if the "
        "customer is already forgotten, 404 if no such customer exists." + ASYNC_DESCRIPTION,
        request=None,
        parameters=[*ASYNC_PARAMETERS, IDEMPOTENCY_KEY_HEADER, REQUEST_ID, RETRY_AFTER],
        responses={
            200: inputs.ForgetCustomerOutput,
            **ACCEPTED,
            **problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
        },
        tags=["commands"],
    )
    @action(detail=True, methods=["post"])
    def forget(self, request: Request, customer_id: str) -> Response:
        """Forget the customer: destroy their data key (staff only)."""
        self.body(request)
        command = commands.ForgetCustomer(customer_id)
        if prefers_async(request):
            return self.accept_command(request, command)
        result = self.dispatch_command(request, command)
        data = {"customer_id": customer_id, "version": result.version, "position": result.position}
        return Response(inputs.ForgetCustomerOutput(data).data)


def command_context(request: Request) -> commands.Context:
    """Build the command's context from the request: actor, correlation, idempotency."""
    return commands.Context(
        actor=commands.Actor(request.user.get_username(), request.user.is_staff),
        correlation_id=getattr(request._request, "correlation_id", None) or str(uuid.uuid4()),
        idempotency=idempotency(request),
    )


def idempotency(request: Request) -> commands.Idempotency | None:
    """Read the Idempotency-Key header; 400 if it is malformed."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise serializers.ValidationError(
            {"Idempotency-Key": ["Must be 1 to 255 visible ASCII characters."]}
        )
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    # The path in lower case: an order id is the same order in any letter case.
    target = f"{request.method} {request.path.lower()}"
    fingerprint = hashlib.sha256(f"{target}\n{body}".encode()).hexdigest()
    return commands.Idempotency(scope=str(request.user.pk), key=key, fingerprint=fingerprint)


def expected_version(request: Request) -> int | None:
    """Read If-Match: "<version>" (or *); 400 if it is malformed."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = IF_MATCH.fullmatch(header.strip())
    if match is None:
        raise serializers.ValidationError(
            {"If-Match": ['Must be * or a version of at most 9 digits in quotes, e.g. "3".']}
        )
    return int(match.group(1))
