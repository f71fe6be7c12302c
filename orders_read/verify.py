"""Check a live read model against a replay of the event log, without changing it."""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, models, transaction

from eventlog import store

from .models import Checkpoint
from .projectors import PROJECTORS, HandlerFailed

READ_DB = "read"
EXAMPLES = 5


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
    error: str = ""

    @property
    def matches(self) -> bool:
        return not (self.missing or self.extra or self.changed or self.error)

    @property
    def differences(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.changed)

    def summary(self) -> str:
        """Return one line a person can act on."""
        where = f"up to position {self.position}"
        if self.head > self.position:
            where += f" (lagging {self.head - self.position} position(s) behind the head)"
        if self.error:
            return f"{self.name}: the replay failed {where}: {self.error}"
        if self.matches:
            return f"{self.name}: matches the event log ({self.rows} rows) {where}"
        parts = [f"{len(self.missing)} missing", f"{len(self.extra)} extra"]
        parts.append(f"{len(self.changed)} changed")
        examples = [f"{key} ({', '.join(fields)})" for key, fields in self.changed.items()]
        examples += [f"{key} (missing)" for key in self.missing]
        examples += [f"{key} (extra)" for key in self.extra]
        shown = "; ".join(examples[:EXAMPLES])
        return (
            f"{self.name}: MISMATCH {where}: {self.differences} row(s) differ "
            f"({', '.join(parts)}), e.g. {shown}"
        )


class _Discard(Exception):
    """Roll the replay back once it has been read."""


def projection_verify(name: str, *, batch_size: int | None = None) -> Verification:
    """Replay the log into a scratch copy of the projection's model and compare it.

    One read-DB transaction holds the checkpoint lock, so no runner moves the model
    meanwhile; the replay runs in a savepoint that is always rolled back, so the
    live model is untouched. Events after the live checkpoint are not replayed: a
    lagging model is reported as lagging, not as a mismatch.
    """
    projector = PROJECTORS[name]
    size = batch_size or settings.ORDINAL_PROJECTION_BATCH_SIZE
    model = projector.model
    with transaction.atomic(using=READ_DB):
        checkpoint = _checkpoint_lock(name)
        result = Verification(name, checkpoint.position, store.head_position())
        live = _rows(model)
        try:
            with transaction.atomic(using=READ_DB):
                projector.reset()
                position = 0
                while position < checkpoint.position:
                    rows = store.read_all(position, size, metadata=False)
                    rows = [row for row in rows if row[0] <= checkpoint.position]
                    if not rows:
                        break
                    projector().apply(rows)
                    position = rows[-1][0]
                replayed = _rows(model)
                raise _Discard
        except _Discard:
            pass
        except (HandlerFailed, DatabaseError) as exc:
            # The savepoint is rolled back: the live model and the transaction are intact.
            result.error = f"{type(exc).__name__}: {exc}"
            return result
    _compare(result, live, replayed)
    return result


def _checkpoint_lock(name: str) -> Checkpoint:
    # The same row lock the runner takes: runners wait while we compare.
    query = Checkpoint.objects.using(READ_DB)
    if connections[READ_DB].features.has_select_for_update:
        query = query.select_for_update()
    return query.get_or_create(name=name)[0]


def _rows(model: type[models.Model]) -> dict[str, dict[str, Any]]:
    key = model._meta.pk.attname
    return {str(row[key]): row for row in model.objects.using(READ_DB).values()}


def _compare(result: Verification, live: dict, replayed: dict) -> None:
    result.rows = len(replayed)
    result.missing = sorted(set(replayed) - set(live))
    result.extra = sorted(set(live) - set(replayed))
    for key in sorted(set(live) & set(replayed)):
        fields = [f for f, value in replayed[key].items() if live[key].get(f) != value]
        if fields:
            result.changed[key] = fields
