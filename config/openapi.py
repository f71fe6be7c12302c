"""OpenAPI 3 documentation: the problem document, common headers and the schema's routes."""

from drf_spectacular.authentication import BasicScheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer

from .token import ObtainAuthToken

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEM_DESCRIPTIONS = {
    304: "Not modified (If-None-Match matched the current version).",
    400: "Malformed JSON or invalid fields (`errors` names them).",
    401: "Not authenticated.",
    403: "Not allowed.",
    404: "Unknown, or not yours.",
    409: "A business rule refuses the command (`type` names the rule).",
    412: "If-Match names a version the order is not at.",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "Idempotency-Key reused with another body.",
    429: "Throttled, or locked out after too many failed logins; retry after Retry-After seconds.",
    503: "The read model is behind min_position, or a dependency is down (see Retry-After).",
}


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem document."""

    type = serializers.CharField(
        help_text="A URN naming the problem, e.g. urn:ordinal:problem:duplicate-sku"
    )
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For validation errors: messages per field (nested fields as items.0.sku).",
    )


def problems(*codes: int) -> dict:
    """Document these error statuses as problem responses."""
    return {
        (code, PROBLEM_MEDIA_TYPE): OpenApiResponse(ProblemSerializer, PROBLEM_DESCRIPTIONS[code])
        for code in codes
    }


IF_MATCH = OpenApiParameter(
    "If-Match",
    {"type": "string", "pattern": r'^(\*|"[0-9]{1,9}")$', "example": '"3"'},
    OpenApiParameter.HEADER,
    description='Optimistic concurrency: the order\'s version in quotes, e.g. "3"; '
    "412 if the order is at another version.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
    OpenApiParameter.HEADER,
    description="1..255 visible ASCII characters, per user. A retry with the same body replays "
    "the first status and body; another body gets 422.",
)
REQUEST_ID = OpenApiParameter(
    "X-Request-ID",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Correlation id carried into the events' metadata and the logs.",
)
MIN_POSITION = OpenApiParameter(
    "min_position",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    description="Read your writes: wait until the read model has reached this position "
    "(the `position` a command returned); 503 with Retry-After if it does not in time.",
)

# Response headers (`response=` names the statuses that carry them; True is every status).
ETAG = OpenApiParameter(
    "ETag",
    {"type": "string", "pattern": r'^"[0-9]+"$', "example": '"3"'},
    OpenApiParameter.HEADER,
    description='The order\'s version in quotes, e.g. "3": send it back as If-Match (commands) '
    "or If-None-Match (reads).",
    response=[200, 201, 304],
)
LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The new order's URL, e.g. /api/orders/<order_id>/.",
    response=[201],
)
READ_POSITION = OpenApiParameter(
    "X-Read-Position",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="The log position the read model had reached when it answered "
    "(on every answer of a query, errors included).",
    response=True,
)
AS_OF_POSITION = OpenApiParameter(
    "X-As-Of-Position",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="With `as_of`: the last log position the answer includes (for one order, "
    "the position of its last event at or before the instant; 0 for none).",
    response=[200, 304],
)
PARKED = OpenApiParameter(
    "X-Parked",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="`true` when the order's events are parked in its projection (a handler "
    "failed on one): the answer is its last good state until they apply.",
    response=[200],
)
CONTENT_DISPOSITION = OpenApiParameter(
    "Content-Disposition",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='`attachment; filename="<customer_id>-export.json"`: save it as a file.',
    response=[200],
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="Seconds to wait before retrying: until the lockout or throttle ends, or the "
    "read model or database is back.",
    response=[429, 503],
)


class LockoutBasicScheme(BasicScheme):
    """The project's HTTP Basic (config.auth) is DRF's, documented as DRF's (basicAuth)."""

    target_class = "config.auth.BasicAuthentication"


class DocumentedObtainAuthToken(ObtainAuthToken):
    """DRF's token view exactly as served, with the errors it answers in the schema."""

    @extend_schema(
        summary="Exchange a username and password for an API token",
        description='Returns `{"token": ...}`; send it as `Authorization: Token <key>`. '
        "Wrong credentials are a 400; an `Authorization` header with a malformed or "
        "unknown token is refused (401) before the body is read. After 10 failed logins "
        "for one username, or 50 from one address, each login for it is a 429 for 15 "
        "minutes, even with the right password; `Retry-After` says how long is left.",
        # The view parses JSON and forms alike; one content type keeps generated clients
        # simple (a generator emits one body type per content type).
        request={"application/json": AuthTokenSerializer},
        # No credentials needed: this is where a client gets them.
        auth=[{}],
        parameters=[RETRY_AFTER],
        responses={200: AuthTokenSerializer, **problems(400, 401, 403, 413, 415, 429)},
        tags=["auth"],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
