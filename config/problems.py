"""RFC 9457 problem responses for every error: one exception handler, one table."""

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError
from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from eventlog.store import ConcurrencyError
from orders_write.domain.errors import InvalidValue, RuleViolation

from .parsers import PayloadTooLarge

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:ordinal:problem:"


class ProblemError(exceptions.APIException):
    """An API error with its own problem code and response headers."""

    def __init__(
        self, status_code: int, code: str, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail or HTTPStatus(status_code).phrase, code)
        self.status_code = status_code
        self.problem_code = code
        self.headers = dict(headers or {})


# Errors that know nothing of HTTP (the domain's, the event log's, the database's) and
# the API error each is answered with. Looked up along the error's class hierarchy, so
# the most specific entry wins (DataError before DatabaseError). The application's own
# errors are not here: they carry their `status` and `problem_type`.
PROBLEMS: dict[type[Exception], Callable[[Any], exceptions.APIException]] = {
    InvalidValue: lambda exc: exceptions.ValidationError({exc.field: [exc.message]}),
    RuleViolation: lambda exc: ProblemError(409, exc.code, str(exc)),
    ConcurrencyError: lambda exc: ProblemError(409, "concurrent-modification", str(exc)),
    RequestDataTooBig: lambda exc: PayloadTooLarge(),
    # A value the database cannot store (e.g. a NUL in credentials): the client's fault.
    DataError: lambda exc: ProblemError(
        400, "bad-request", "The request holds a value that cannot be stored."
    ),
    DatabaseError: lambda exc: ProblemError(
        503, "service-unavailable", "A database is unavailable; retry.", {"Retry-After": "5"}
    ),
}


def api_exception(exc: Exception) -> Exception:
    """Return the API exception that answers an error (the error itself if DRF knows it)."""
    for cls in type(exc).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls](exc)
    if isinstance(getattr(exc, "problem_type", None), str):
        return _carried(exc)
    return exc


def problem_of(exc: Exception) -> tuple[int, str]:
    """Return the status and problem type an error is answered with (500 for a bug)."""
    answer = api_exception(exc)
    if not isinstance(answer, exceptions.APIException):
        return 500, PAGE_PROBLEMS[500][0]
    return answer.status_code, _code(answer.status_code, answer)


def _carried(exc: Any) -> exceptions.APIException:
    """Answer an error that names its own status, problem type and (maybe) headers."""
    field = getattr(exc, "field", None)
    if field is not None:  # about one value the client sent: a validation problem naming it
        answer: exceptions.APIException = exceptions.ValidationError({field: [str(exc)]})
    else:
        answer = ProblemError(exc.status, exc.problem_type, str(exc))
    answer.headers = dict(getattr(exc, "headers", {}))
    return answer


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler: render every error as application/problem+json."""
    exc = api_exception(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    for name, value in getattr(exc, "headers", {}).items():
        response[name] = value
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


# The problem type and detail of an error page that Django, not a DRF view, answered.
PAGE_PROBLEMS = {
    400: ("bad-request", "Bad request."),
    403: ("permission-denied", "Permission denied."),
    404: ("not-found", "Not found."),
    500: ("server-error", "An unexpected error occurred."),
}


def page_problem(status_code: int) -> JsonResponse:
    """Return the problem response that stands for Django's error page of this status."""
    phrase = HTTPStatus(status_code).phrase
    code, detail = PAGE_PROBLEMS.get(status_code, (phrase.lower().replace(" ", "-"), phrase + "."))
    return problem_response(status_code, code, detail)


def problem_response(status_code: int, code: str, detail: str) -> JsonResponse:
    """Return a problem response answered outside a DRF view (a middleware, a page)."""
    phrase = HTTPStatus(status_code).phrase
    body = {"type": TYPE_PREFIX + code, "title": phrase, "status": status_code, "detail": detail}
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def problem_document(exc: Exception) -> dict[str, Any]:
    """Return the problem document an API call answers this error with, outside a request.

    For a command run later (the inbox): the same document the synchronous call would
    have answered, `status` included. An error the API does not know is a 500's.
    """
    answer = api_exception(exc)
    if not isinstance(answer, exceptions.APIException):
        return problem_body(500, None)
    # As DRF's exception handler builds its data, minus its rollback of the transaction.
    detail = answer.detail
    data = detail if isinstance(detail, (list, dict)) else {"detail": detail}
    return problem_body(answer.status_code, answer, data)
