"""`Prefer: respond-async`: accept a validated command into the inbox and answer 202."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from orders_write.inbox.entries import Sender

from .serializers import CommandAcceptedOutput

if TYPE_CHECKING:
    from orders_write.commands import Command, Context
    from orders_write.models import InboxCommand

    Accept = Callable[[Command, Context, Sender], InboxCommand]

RESPOND_ASYNC = "respond-async"

PREFER = OpenApiParameter(
    "Prefer",
    {"type": "string", "example": RESPOND_ASYNC},
    OpenApiParameter.HEADER,
    description="`respond-async`: validate the body now, run the command later; answer "
    "202 with `Location: /api/commands/{command_id}/`, where its outcome will be.",
)
PREFERENCE_APPLIED = OpenApiParameter(
    "Preference-Applied",
    {"type": "string", "enum": [RESPOND_ASYNC]},
    OpenApiParameter.HEADER,
    description="`respond-async` when the command was accepted for later.",
    response=[202],
)
COMMAND_LOCATION = OpenApiParameter(
    "Location",
    {"type": "string", "example": "/api/commands/<command_id>/"},
    OpenApiParameter.HEADER,
    description="The URL of the accepted command's status.",
    response=[202],
)
ACCEPTED = {202: CommandAcceptedOutput}


def prefers_async(request: Request) -> bool:
    """Tell whether the request's `Prefer` header (RFC 7240) asks for `respond-async`."""
    header = request.headers.get("Prefer", "")
    preferences = (item.split(";", 1)[0].split("=", 1)[0] for item in header.split(","))
    return any(name.strip().lower() == RESPOND_ASYNC for name in preferences)


def accepted(request: Request, command: "Command", context: "Context", accept: "Accept"):
    """Store the command in the inbox; answer 202 with where its status will be."""
    user = request.user
    sender = Sender(str(user.pk), user.get_username(), user.is_staff)
    entry = accept(command, context, sender)
    body = {"command_id": entry.command_id, "status": entry.status}
    return Response(
        CommandAcceptedOutput(body).data,
        status=status.HTTP_202_ACCEPTED,
        headers={
            "Preference-Applied": RESPOND_ASYNC,
            "Location": f"/api/commands/{entry.command_id}/",
        },
    )
