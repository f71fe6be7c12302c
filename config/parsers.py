"""The strict JSON parser of the API: bounded size and depth, strict JSON, storable strings."""

import json
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
