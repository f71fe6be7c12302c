"""RFC 9457 problem responses for every error, and the strict JSON parser."""

import json
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DatabaseError, DataError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from eventlog.store import ConcurrencyError
from orders_write.domain.errors import InvalidValue, RuleViolation
from orders_write.errors import (
    ConcurrentModification,
    IdempotencyKeyReused,
    NotAllowed,
    OrderNotFound,
    PreconditionFailed,
)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:ordinal:problem:"


class ProblemError(exceptions.APIException):
    """An API error with its own problem code."""

    def __init__(self, status_code: int, code: str, detail: str, **headers: str) -> None:
        super().__init__(detail, code)
        self.status_code = status_code
        self.problem_code = code
        self.headers = headers


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload-too-large"


class StrictJSONParser(JSONParser):
    """Parse JSON, refusing bodies that are too large, too deep or not strict JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # DATA_UPLOAD_MAX_MEMORY_SIZE = None means no limit.
        size = -1 if limit is None else limit + 1
        raw = stream.read(size) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge()
        try:
            text = raw.decode("utf-8")
            data = json.loads(text, parse_constant=_refuse_constant)
            _refuse_unstorable_strings(data)
            return data
        except (ValueError, RecursionError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {_short(exc)}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _refuse_unstorable_strings(data: Any) -> None:
    """Refuse NUL characters and unpaired surrogates ("\\u0000", "\\ud800") anywhere.

    Both are valid JSON escapes, but PostgreSQL cannot store them and a surrogate
    cannot even be encoded in a response that echoes it (e.g. an unknown field name).
    """
    pending = [data]
    while pending:  # iterative: the body may be nested nearly to the recursion limit
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("NUL characters (\\u0000) are not allowed")
            if not value.isascii() and not _encodable(value):
                raise ValueError("unpaired surrogates (e.g. \\ud800) are not allowed")
        elif isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(exc: Exception) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]


def _translate(exc: Exception) -> Exception:
    """Turn domain and application errors into API exceptions with problem codes."""
    if isinstance(exc, InvalidValue):
        return exceptions.ValidationError({exc.field: [exc.message]})
    if isinstance(exc, RuleViolation):
        return ProblemError(409, exc.code, str(exc))
    if isinstance(exc, OrderNotFound):
        return ProblemError(404, "not-found", str(exc) or "Not found.")
    if isinstance(exc, NotAllowed):
        return ProblemError(403, "permission-denied", str(exc))
    if isinstance(exc, PreconditionFailed):
        return ProblemError(412, "precondition-failed", str(exc))
    if isinstance(exc, IdempotencyKeyReused):
        return ProblemError(422, "idempotency-key-reused", str(exc))
    if isinstance(exc, (ConcurrentModification, ConcurrencyError)):
        return ProblemError(409, "concurrent-modification", str(exc))
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, DataError):
        # A value the database cannot store (e.g. a NUL in credentials): the client's fault.
        return ProblemError(400, "bad-request", "The request holds a value that cannot be stored.")
    if isinstance(exc, DatabaseError):
        return ProblemError(
            503, "service-unavailable", "A database is unavailable; retry.", Retry_After="5"
        )
    return exc


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler: render every error as application/problem+json."""
    exc = _translate(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    for name, value in getattr(exc, "headers", {}).items():
        response[name.replace("_", "-")] = value
    response.data = problem_body(response.status_code, exc, response.data)
    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    if renderer is None or renderer.format == "json":
        response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_body(status_code: int, exc: Exception | None, data: Any = None) -> dict[str, Any]:
    """Build the problem document for an error."""
    code = _code(status_code, exc)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
    }
    if isinstance(exc, exceptions.ValidationError):
        body["detail"] = "The request is invalid; see errors."
        body["errors"] = flatten_errors(data)
    elif isinstance(data, dict) and "detail" in data:
        body["detail"] = str(data["detail"])
    else:
        body["detail"] = body["title"]
    return body


def _code(status_code: int, exc: Exception | None) -> str:
    if isinstance(exc, ProblemError):
        return exc.problem_code
    if isinstance(exc, exceptions.ValidationError):
        return "validation-error"
    if isinstance(exc, exceptions.APIException) and isinstance(exc.default_code, str):
        return exc.default_code.replace("_", "-")
    return HTTPStatus(status_code).phrase.lower().replace(" ", "-")


def flatten_errors(data: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested error structure to {"items.0.sku": ["..."]}."""
    if isinstance(data, dict):
        flat: dict[str, list[str]] = {}
        for key, value in data.items():
            # A nested serializer's own errors (e.g. "items" is not a list) belong to its field.
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                name = prefix or key
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            _merge(flat, flatten_errors(value, name))
        return flat
    if isinstance(data, list) and any(isinstance(item, (dict, list)) for item in data):
        flat = {}
        for index, value in enumerate(data):
            _merge(flat, flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = data if isinstance(data, list) else [data]
    return {prefix or "non_field_errors": [str(message) for message in messages]} if data else {}


def _merge(flat: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for name, messages in more.items():
        flat.setdefault(name, []).extend(messages)


def problem_response(request, status_code: int, detail: str, code: str) -> JsonResponse:
    """A problem response for errors raised outside DRF views (404 and 500 handlers)."""
    body = {
        "type": TYPE_PREFIX + code,
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
    }
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def handler404(request, exception: Exception | None = None):
    if _wants_html(request):
        from django.views.defaults import page_not_found

        return page_not_found(request, exception or Http404())
    return problem_response(request, 404, "Not found.", "not-found")


def handler403(request, exception: Exception | None = None):
    if _wants_html(request):
        from django.views.defaults import permission_denied

        return permission_denied(request, exception or PermissionDenied())
    return problem_response(request, 403, "Permission denied.", "permission-denied")


def handler400(request, exception: Exception | None = None):
    return problem_response(request, 400, "Bad request.", "bad-request")


def handler500(request):
    if _wants_html(request):
        from django.views.defaults import server_error

        return server_error(request)
    return problem_response(request, 500, "An unexpected error occurred.", "server-error")


def _wants_html(request) -> bool:
    return not request.path.startswith(("/api/", "/healthz", "/readyz"))
