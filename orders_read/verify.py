"""Compare a live read model with a new generation replayed from the log, row by row."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, models
from django.db.models.functions import Collate

from .models import ParkedStream

READ_DB = "read"
EXAMPLES = 5
KEPT = 100  # differences kept by kind (all are counted)
CHUNK = 5000


@dataclass
class Verification:
    """How a live read model compares with a replay up to the same position."""

    name: str
    position: int
    head: int
    rows: int = 0
    missing: list[str] = field(default_factory=list)  # in the replay, not live
    extra: list[str] = field(default_factory=list)  # live, not in the replay
    changed: dict[str, list[str]] = field(default_factory=dict)  # key -> differing fields
    counts: dict[str, int] = field(default_factory=lambda: {"missing": 0, "extra": 0, "changed": 0})
    parked: str = ""  # how the parked streams differ, if they do
    error: str = ""

    @property
    def matches(self) -> bool:
        return not (self.differences or self.parked or self.error)

    @property
    def differences(self) -> int:
        return sum(self.counts.values())

    def note(self, kind: str, key: Any, fields: list[str] | None = None) -> None:
        """Count one differing row, and keep it as an example while there are few."""
        self.counts[kind] += 1
        if self.counts[kind] > KEPT:
            return
        if kind == "changed":
            self.changed[str(key)] = fields or []
        else:
            getattr(self, kind).append(str(key))

    def summary(self) -> str:
        """Return one line a person can act on."""
        where = f"up to position {self.position}"
        if self.head > self.position:
            where += f" (lagging {self.head - self.position} position(s) behind the head)"
        if self.error:
            return f"{self.name}: the replay failed {where}: {self.error}"
        if self.matches:
            return f"{self.name}: matches the event log ({self.rows} rows) {where}"
        if not self.differences:
            return f"{self.name}: MISMATCH {where}: {self.parked}"
        parts = ", ".join(f"{count} {kind}" for kind, count in self.counts.items())
        examples = [f"{key} ({', '.join(fields)})" for key, fields in self.changed.items()]
        examples += [f"{key} (missing)" for key in self.missing]
        examples += [f"{key} (extra)" for key in self.extra]
        shown = "; ".join(examples[:EXAMPLES])
        text = (
            f"{self.name}: MISMATCH {where}: {self.differences} row(s) differ ({parts}), "
            f"e.g. {shown}"
        )
        return f"{text}; {self.parked}" if self.parked else text


def tables_compare(
    result: Verification, live: type[models.Model], replayed: type[models.Model]
) -> None:
    """Compare two tables of one read model, both read in primary-key order, a chunk at a time."""
    live_rows, new_rows = _ordered(live), _ordered(replayed)
    pk = live._meta.pk.attname
    old, new = next(live_rows, None), next(new_rows, None)
    while old is not None or new is not None:
        if new is None or (old is not None and old[pk] < new[pk]):
            result.note("extra", old[pk])
            old = next(live_rows, None)
            continue
        result.rows += 1
        if old is None or new[pk] < old[pk]:
            result.note("missing", new[pk])
        else:
            fields = [name for name, value in new.items() if old.get(name) != value]
            if fields:
                result.note("changed", new[pk], fields)
            old = next(live_rows, None)
        new = next(new_rows, None)


def _ordered(model: type[models.Model]) -> Iterator[dict[str, Any]]:
    rows = model.objects.using(READ_DB).all()
    pk = model._meta.pk
    if connections[READ_DB].vendor == "postgresql" and isinstance(pk, models.CharField):
        # Byte order, as Python compares the keys, whatever the database's collation.
        return rows.order_by(Collate(pk.attname, "C")).values().iterator(CHUNK)
    return rows.order_by(pk.attname).values().iterator(CHUNK)


def parked_compare(result: Verification, live_label: str, replayed_label: str) -> None:
    """Note whether the replay parked the same streams, from the same events, as the live run."""
    parked = ParkedStream.objects.using(READ_DB)
    live = set(parked.filter(projection=live_label).values_list("stream_id", "position"))
    replayed = set(parked.filter(projection=replayed_label).values_list("stream_id", "position"))
    if live != replayed:
        result.parked = (
            f"parked streams differ: {len(replayed - live)} parked only in the replay, "
            f"{len(live - replayed)} only live"
        )
