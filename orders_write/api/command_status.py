"""The write side's half of the commands ViewSet: the status of a command run later."""

import uuid
from collections.abc import Callable

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from config.openapi import problems
from orders_write.models import InboxCommand

from .serializers import CommandStatusOutput

# Seconds a client should wait before asking again while the command waits or runs.
RETRY_AFTER_SECONDS = 1
STATUS_RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    {"type": "integer"},
    OpenApiParameter.HEADER,
    description="While `queued` or `running`: seconds to wait before asking again.",
    response=[200],
)


class CommandStatusQueries:
    """GET /api/commands/{command_id}/: queued, running, succeeded or failed.

    The composed ViewSet sets `command_get` and `check_query_parameters` (400 for a query
    parameter it does not take, as every query answers; the API's composition root does).
    """

    command_get: Callable[..., InboxCommand | None]
    check_query_parameters: Callable[[Request], None]

    @extend_schema(
        summary="The status of a command sent with Prefer: respond-async",
        description="Its sender or staff only (404 for anyone else). `queued` or `running` "
        "(with `Retry-After`), then `succeeded` with `order_id` (or `customer_id` for a "
        "forget), `version` and `position`, or `failed` with `problem`: the problem "
        "document the synchronous call would have answered. Kept at least "
        "ORDINAL_INBOX_KEEP_HOURS (24 h) after it finished. A query parameter not listed "
        "here is a 400 naming it (DRF's `format` aside).",
        parameters=[STATUS_RETRY_AFTER],
        responses={200: CommandStatusOutput, **problems(401, 403, 404, 429)},
        tags=["commands"],
    )
    def retrieve(self, request: Request, command_id: uuid.UUID) -> Response:
        """Return the command's status, and its outcome once it ran."""
        self.check_query_parameters(request)
        user = request.user
        entry = self.command_get(command_id, user_id=str(user.pk), is_staff=user.is_staff)
        if entry is None:
            raise exceptions.NotFound(f"Command {command_id} not found.")
        body: dict = {"command_id": entry.command_id, "status": entry.status}
        if entry.status == InboxCommand.SUCCEEDED:
            body.update(entry.result)
        elif entry.status == InboxCommand.FAILED:
            body["problem"] = entry.problem
        headers = {}
        if entry.status in (InboxCommand.QUEUED, InboxCommand.RUNNING):
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return Response(CommandStatusOutput(body).data, headers=headers)
