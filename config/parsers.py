"""The strict JSON parser of the API: bounded size and depth, strict JSON, storable strings."""

import json
import sys
from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


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
            raise exceptions.ParseError(_reason(exc)) from None


class Refused(ValueError):
    """A body refused for a reason of our own; its message is the problem's whole detail."""


def _refuse_constant(name: str) -> Any:
    raise Refused(f"The body is not valid JSON: {name} is not a JSON value.")


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
                raise Refused("The body holds a NUL character (\\u0000), which is refused.")
            if not value.isascii() and not _encodable(value):
                raise Refused(
                    "The body holds an unpaired surrogate (e.g. \\ud800), which is refused."
                )
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


def _reason(exc: Exception) -> str:
    """Return the problem's detail: one sentence on why the body was refused."""
    if isinstance(exc, Refused):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "The body is nested too deeply."
    if isinstance(exc, UnicodeDecodeError):
        return "The body is not valid UTF-8."
    if isinstance(exc, json.JSONDecodeError):
        what = exc.msg.removesuffix(" at")  # e.g. "Unterminated string starting at"
        where = f"line {exc.lineno}, column {exc.colno}"
        return f"The body is not valid JSON: {what[:1].lower()}{what[1:]} at {where}."
    # The one other ValueError of json.loads: an integer too long to convert.
    return f"The body holds a number of more than {sys.get_int_max_str_digits()} digits."
