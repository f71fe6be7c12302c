"""Command views: parse the body, dispatch one command, render its result."""

import hashlib
import json
import re
import uuid
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.bootstrap import command_bus
from config.openapi import IDEMPOTENCY_KEY as IDEMPOTENCY_KEY_HEADER
from config.openapi import IF_MATCH as IF_MATCH_HEADER
from config.openapi import REQUEST_ID, problems
from orders_write import commands
from orders_write.domain.values import Line

from . import serializers as inputs

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
IF_MATCH = re.compile(r'"([0-9]{1,9})"')


def documented(summary: str, *, success: int = 200, staff_only: bool = False):
    """Describe a command view's POST in the OpenAPI schema."""
    on_order = success == 200
    errors = [400, 401, 403, 409, 413, 415, 422, 429]
    if on_order:
        errors += [404, 412]
    return extend_schema_view(
        post=extend_schema(
            summary=summary,
            description=("Staff only. " if staff_only else "")
            + "Returns the order's new version (also as `ETag`) and the global `position` "
            "of its last event, the token for read-your-writes (`?min_position=`)."
            + ("" if on_order else " `Location` names the new order."),
            parameters=[IDEMPOTENCY_KEY_HEADER, REQUEST_ID]
            + ([IF_MATCH_HEADER] if on_order else []),
            responses={success: inputs.CommandResultOutput, **problems(*sorted(errors))},
            tags=["commands"],
        )
    )


class CommandView(APIView):
    """POST one command; subclasses say how the validated body becomes the command."""

    input_serializer: type[serializers.Serializer]
    success_status = status.HTTP_200_OK

    def get_serializer(self, *args, **kwargs):
        # Lets the browsable API render a form for the command's body.
        return self.input_serializer(*args, **kwargs)

    def post(self, request: Request, order_id: uuid.UUID | None = None) -> Response:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        command = self.command(serializer.validated_data, request, order_id)
        result = command_bus().dispatch(command, command_context(request))
        response = Response(
            inputs.CommandResultOutput(result).data,
            status=self.success_status,
            headers={"ETag": f'"{result.version}"'},
        )
        return response

    def command(self, data: dict[str, Any], request: Request, order_id) -> commands.Command:
        raise NotImplementedError


class OrderCommandView(CommandView):
    """A command on an existing order, honouring If-Match."""

    command_class: type[commands.OrderCommand]

    def command(self, data, request, order_id):
        return self.command_class(order_id, **data, expected_version=expected_version(request))


@documented("Place an order", success=201)
class PlaceOrderView(CommandView):
    input_serializer = inputs.PlaceOrderInput
    success_status = status.HTTP_201_CREATED

    def command(self, data, request, order_id):
        return commands.PlaceOrder(
            order_id=uuid.uuid4(),
            customer_id=data.get("customer_id") or request.user.username,
            currency=data["currency"],
            items=tuple(Line(i["sku"], i["quantity"], i["unit_price"]) for i in data["items"]),
            shipping_address=data.get("shipping_address") or {},
        )

    def post(self, request: Request, order_id=None) -> Response:
        response = super().post(request)
        response["Location"] = f"/api/orders/{response.data['order_id']}/"
        return response


@documented("Add an item (a SKU not yet in the order)")
class AddItemView(OrderCommandView):
    input_serializer = inputs.AddItemInput
    command_class = commands.AddItem


@documented("Change an item's quantity")
class ChangeQuantityView(OrderCommandView):
    input_serializer = inputs.ChangeQuantityInput
    command_class = commands.ChangeItemQuantity


@documented("Remove an item (not the last one)")
class RemoveItemView(OrderCommandView):
    input_serializer = inputs.RemoveItemInput
    command_class = commands.RemoveItem


@documented("Ship the order", staff_only=True)
class ShipOrderView(OrderCommandView):
    input_serializer = inputs.ShipOrderInput
    command_class = commands.ShipOrder


@documented("Cancel the order")
class CancelOrderView(OrderCommandView):
    input_serializer = inputs.CancelOrderInput
    command_class = commands.CancelOrder


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
    fingerprint = hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
    return commands.Idempotency(scope=str(request.user.pk), key=key, fingerprint=fingerprint)


def expected_version(request: Request) -> int | None:
    """Read If-Match: "<version>" (or *); 400 if it is malformed."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = IF_MATCH.fullmatch(header.strip())
    if match is None:
        raise serializers.ValidationError({"If-Match": ['Must be a version in quotes, e.g. "3".']})
    return int(match.group(1))
