"""The projector base: load the rows a batch touches, apply events in memory, write in bulk."""

import re
from collections.abc import Hashable, Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from django.db import models

from eventlog.store import RecordedEvent as Recorded

READ_DB = "read"


class HandlerFailed(Exception):
    """A projector's handler raised on the event at `index` of the batch."""

    def __init__(self, index: int, position: int, error: Exception) -> None:
        super().__init__(f"{type(error).__name__} at position {position}: {error}")
        self.index = index
        self.position = position
        self.error = error


def _event_type(method_name: str) -> str:
    """Turn "on_order_placed" into "OrderPlaced"."""
    return "".join(part.capitalize() for part in method_name[3:].split("_"))


class Projector:
    """Project events into one read model.

    Subclasses name their model, say which rows an event touches (`keys`) and define
    one `on_<event>` method per event type they care about; other events are ignored.
    Handlers change rows in `self.rows` only; `apply` writes the changed rows at the
    end of the batch, so a batch costs one read and one bulk write, not one per event.
    """

    name: ClassVar[str]
    model: ClassVar[type[models.Model]]
    handlers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = {
            _event_type(attr): attr for attr in dir(cls) if re.fullmatch(r"on_[a-z_]+", attr)
        }

    def __init__(self) -> None:
        self.rows: dict[Hashable, models.Model] = {}
        self.changed: set[Hashable] = set()

    def keys(self, event: Recorded) -> Iterable[Hashable]:
        """Return the primary keys of the rows the event touches."""
        raise NotImplementedError

    def apply(self, rows: Sequence[tuple]) -> None:
        """Apply a batch of event rows; raise HandlerFailed before writing anything."""
        events = [
            (index, Recorded._make(row))
            for index, row in enumerate(rows)
            if row[4] in self.handlers
        ]
        wanted: set[Hashable] = set()
        for index, event in events:
            try:
                wanted.update(self.keys(event))
            except Exception as exc:
                raise HandlerFailed(index, event.position, exc) from exc
        self.rows = self.model.objects.using(READ_DB).in_bulk(wanted) if wanted else {}
        for index, event in events:
            try:
                getattr(self, self.handlers[event.type])(event)
            except Exception as exc:
                raise HandlerFailed(index, event.position, exc) from exc
        self.save()

    def save(self) -> None:
        """Write every changed row in one bulk upsert."""
        if not self.changed:
            return
        meta = self.model._meta
        self.model.objects.using(READ_DB).bulk_create(
            # In key order, so concurrent writers of one table take row locks alike.
            [self.rows[key] for key in sorted(self.changed, key=str)],
            update_conflicts=True,
            unique_fields=[meta.pk.name],
            update_fields=[f.name for f in meta.concrete_fields if not f.primary_key],
        )
        self.changed.clear()

    def row(self, key: Hashable) -> models.Model:
        """Return the row to change (KeyError if it does not exist) and mark it changed."""
        found = self.rows[key]
        self.changed.add(key)
        return found

    def row_or_new(self, key: Hashable, **defaults: Any) -> models.Model:
        """Return the row to change, creating it with `defaults` if needed."""
        if key not in self.rows:
            self.rows[key] = self.model(pk=key, **defaults)
        return self.row(key)

    @classmethod
    def reset(cls) -> None:
        """Delete every row of the read model (before a rebuild)."""
        cls.model.objects.using(READ_DB).all().delete()


def money(value: str | Decimal) -> Decimal:
    """Return an amount as a Decimal with two places."""
    return Decimal(value).quantize(Decimal("0.01"))


def add_money(amounts: dict[str, str], currency: str, amount: Decimal) -> None:
    """Add an amount to a {currency: decimal string} map, in place."""
    amounts[currency] = str(money(amounts.get(currency, "0.00")) + amount)
