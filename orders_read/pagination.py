"""Keyset (cursor) pagination over a unique integer key, newest first."""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from .queries import InvalidQuery


@dataclass(frozen=True)
class Page:
    """One page of rows and the opaque cursors of its neighbours (None at either end)."""

    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None


def cursor_encode(key: int, backwards: bool) -> str:
    """Return an opaque cursor: rows after `key` (older), or before it if `backwards`."""
    text = json.dumps({"k": key, "b": backwards}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[int, bool]:
    """Return (key, backwards) from a cursor; raise InvalidQuery if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        key, backwards = data["k"], data["b"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise InvalidQuery("cursor", "Invalid cursor.") from None
    if type(key) is not int or type(backwards) is not bool or not 0 <= key < 2**63:
        raise InvalidQuery("cursor", "Invalid cursor.")
    return key, backwards


def keyset_page(queryset: QuerySet, *, key: str, cursor: str | None, page_size: int) -> Page:
    """Return a page of `queryset` by descending `key`, starting at `cursor`."""
    if cursor is None:
        found = list(queryset.order_by(f"-{key}")[: page_size + 1])
        rows = found[:page_size]
        more = len(found) > page_size
        return Page(rows, cursor_encode(_key(rows[-1], key), False) if more else None, None)
    after, backwards = cursor_decode(cursor)
    if not backwards:
        found = list(queryset.filter(**{f"{key}__lt": after}).order_by(f"-{key}")[: page_size + 1])
        rows = found[:page_size]
        more = len(found) > page_size
        previous_key = _key(rows[0], key) if rows else after - 1
        return Page(
            rows,
            cursor_encode(_key(rows[-1], key), False) if more else None,
            cursor_encode(previous_key, True),
        )
    found = list(queryset.filter(**{f"{key}__gt": after}).order_by(key)[: page_size + 1])
    more = len(found) > page_size
    rows = found[:page_size][::-1]
    next_key = _key(rows[-1], key) if rows else after + 1
    return Page(
        rows,
        cursor_encode(next_key, False),
        cursor_encode(_key(rows[0], key), True) if more else None,
    )


def _key(row: Any, key: str) -> int:
    return row[key] if isinstance(row, dict) else getattr(row, key)
