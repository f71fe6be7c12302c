"""Projection snapshots: copies of a read model at log positions, so `as_of` stays cheap.

The runner takes a snapshot of a projection (one whose projector sets `snapshot_rows`)
inside the transaction that moves it past a snapshot point: the first event at least
ORDINAL_PROJECTION_SNAPSHOT_EVERY positions after its previous snapshot (after 0 for
the first). Consecutive snapshots are therefore at most that many events apart, and
catch-up and rebuild, which both cut batches there, take them at the same positions.

The state at any position p is then the newest snapshot at or before p plus a replay,
in memory and through the same projector, of the at most EVERY events after it.
"""

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Max

from eventlog import store
from orders_write.domain.events import schema_versions

from .models import ProjectionSnapshot, ProjectionSnapshotRow, SnapshotEncoder
from .projectors import HandlerFailed, Projector, Recorded
from .projectors.base import ALL_ROWS, newest_schema

READ_DB = "read"
PAGE = 1000
# The key of a whole report's one document (ALL_ROWS projections).
WHOLE = "*"

Row = dict[str, Any]


def upcasted(events: Iterable[Recorded]) -> list[Recorded]:
    """Return stored events with their data lifted to the newest schema (before any fold).

    Types the domain does not define pass unchanged (no projector handles them), and an
    event once lifted says so, so lifting it again changes nothing.
    """
    versions = schema_versions()
    return [newest_schema(event, versions) for event in events]


def events_between(after: int, upto: int) -> list[Recorded]:
    """Return the log's events with after < position <= upto, upcast, in position order."""
    found: list[Recorded] = []
    while after < upto:
        page = store.read_all(after, PAGE, metadata=False)
        found.extend(e for e in page if e.position <= upto)
        if len(page) < PAGE or page[-1].position >= upto:
            break
        after = page[-1].position
    return upcasted(found)


def snapshot_every() -> int:
    return settings.ORDINAL_PROJECTION_SNAPSHOT_EVERY


def apply_with_snapshots(
    projector: Projector, events: Sequence[Recorded], *, save: bool = True
) -> None:
    """Apply a batch as `Projector.apply` does, taking each snapshot that falls inside it.

    Raise HandlerFailed with the index in the whole batch; snapshots taken before the
    failure are in the caller's transaction (a savepoint), rolled back with it.
    """
    if projector.snapshot_rows is None:
        projector.apply(events, save=save)
        return
    every, previous = snapshot_every(), snapshot_last(projector.label)
    start = 0
    for index, event in enumerate(events):
        if event.position - (previous or 0) < every:
            continue
        part = events[start : index + 1]
        _apply_part(projector, part, start, save)
        changed = None
        if previous is not None and projector.snapshot_rows != ALL_ROWS:
            # The events since the previous snapshot: this part, and (for the batch's
            # first snapshot) the ones earlier batches applied after it.
            earlier = events_between(previous, events[0].position - 1) if start == 0 else []
            changed = _keys(projector, [*earlier, *upcasted(part)])
        snapshot_take(projector, event.position, changed)
        previous, start = event.position, index + 1
    if start < len(events):
        _apply_part(projector, events[start:], start, save)


def _apply_part(projector: Projector, part: Sequence[Recorded], offset: int, save: bool) -> None:
    try:
        projector.apply(part, save=save)
    except HandlerFailed as exc:
        raise HandlerFailed(offset + exc.index, exc.position, exc.error) from exc.error


def _keys(projector: Projector, events: Iterable[Recorded]) -> set[Hashable]:
    keys: set[Hashable] = set()
    for event in events:
        if event.type in projector.handlers:
            keys.update(projector.keys(event))
    return keys


def snapshot_take(projector: Projector, position: int, changed: set[Hashable] | None) -> None:
    """Copy the projector's rows as they stand at `position`: all, or only `changed` ones.

    The projector may hold rows not yet written (a rebuild writes late): its rows win
    over the table's.
    """
    model = projector.model
    if changed is None:
        rows = dict(projector.rows) if projector.complete else _table_rows(model, None)
        if not projector.complete:
            rows.update(projector.rows)
    else:
        rows = {key: projector.rows[key] for key in changed if key in projector.rows}
        rows.update(_table_rows(model, changed - rows.keys()))
    if projector.snapshot_rows == ALL_ROWS:
        # A report read whole is copied as one document: one row per snapshot, not one
        # per report row (600 rows a snapshot tripled a 1M-event rebuild, measured).
        rows = {WHOLE: [rows[key] for key in sorted(rows, key=str)]}
    # Only a runner that lost its lock could find this snapshot taken (by the runner
    # that holds it now, with the same rows): its checkpoint compare-and-set then rolls it
    # all back, so it must get that far (no error here).
    if _header_insert(projector.label, position):
        _rows_insert(projector.label, position, rows)


def _header_insert(name: str, position: int) -> bool:
    """Record the snapshot at `position`; False if it was already recorded."""
    table = ProjectionSnapshot._meta.db_table
    with connections[READ_DB].cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (projection, position) VALUES (%s, %s) '
            "ON CONFLICT DO NOTHING RETURNING id",
            [name, position],
        )
        return cursor.fetchone() is not None


def _rows_insert(name: str, position: int, rows: dict[Hashable, Row]) -> None:
    connection = connections[READ_DB]
    if connection.vendor != "postgresql":
        ProjectionSnapshotRow.objects.using(READ_DB).bulk_create(
            [
                ProjectionSnapshotRow(projection=name, position=position, key=str(key), row=row)
                for key, row in rows.items()
            ],
            batch_size=500,
        )
        return
    # COPY, not bulk_create: quoting the rows into one INSERT took two thirds of a
    # rebuild (profiled); straight into the table, as the header insert vouches for them.
    table = ProjectionSnapshotRow._meta.db_table
    encode = SnapshotEncoder().encode
    with connection.cursor() as cursor:
        columns = "projection, position, key, row"
        with cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
            for key, row in rows.items():
                copy.write_row((name, position, str(key), encode(row)))


def _table_rows(model, keys: set[Hashable] | None) -> dict[Hashable, Row]:
    if keys is not None and not keys:
        return {}
    rows = model.objects.using(READ_DB).all()
    if keys is not None:
        rows = rows.filter(pk__in=keys)
    pk = model._meta.pk.attname
    return {row[pk]: row for row in rows.values()}


def snapshot_last(name: str) -> int | None:
    """Return the position of the projection's newest snapshot, or None if it has none."""
    found = ProjectionSnapshot.objects.using(READ_DB).filter(projection=name)
    return found.aggregate(at=Max("position"))["at"]


def snapshots_reset(names: Iterable[str]) -> None:
    """Delete the snapshots of these projections (a rebuild takes them anew)."""
    names = list(names)
    ProjectionSnapshotRow.objects.using(READ_DB).filter(projection__in=names).delete()
    ProjectionSnapshot.objects.using(READ_DB).filter(projection__in=names).delete()


def state_at(
    projector_class: type[Projector], position: int, key: Hashable | None = None
) -> dict[Hashable, Row]:
    """Return the projection's rows as they stood at `position` (only `key`'s, if given).

    Cost: one snapshot read plus a replay of at most ORDINAL_PROJECTION_SNAPSHOT_EVERY
    events (more only for positions before a projection's first snapshot on a log
    that had history before snapshots existed; a rebuild gives it snapshots).
    """
    name = projector_class.name
    taken = (
        ProjectionSnapshot.objects.using(READ_DB)
        .filter(projection=name, position__lte=position)
        .aggregate(at=Max("position"))["at"]
        or 0
    )
    projector = projector_class(complete=True)
    copies = ProjectionSnapshotRow.objects.using(READ_DB).filter(projection=name)
    if projector_class.snapshot_rows == ALL_ROWS:
        document = copies.filter(position=taken, key=WHOLE).values_list("row", flat=True)
        found = [row for rows in document for row in rows] if taken else []
    elif key is None:
        found = copies.filter(position=taken).values_list("row", flat=True) if taken else []
    else:
        # The newest copy at or before the snapshot: a later one would show a change.
        latest = copies.filter(key=str(key), position__lte=taken).order_by("-position")
        found = latest.values_list("row", flat=True)[:1] if taken else []
    pk = projector_class.model._meta.pk.attname
    for data in found:
        row = _decoded(projector_class.model, data)
        projector.rows[row[pk]] = row
    events = events_between(taken, position)
    if key is not None:
        events = [e for e in events if e.type in projector.handlers and key in projector.keys(e)]
    projector.apply(events, save=False)
    return projector.rows


def _decoded(model, data: Row) -> Row:
    # Each field parses its own JSON form back (datetimes, decimals); JSON fields stay.
    return {f.attname: f.to_python(data[f.attname]) for f in model._meta.concrete_fields}


def snapshots_relabel(old: str, new: str) -> None:
    """Replace the snapshots recorded under `new` with those under `old` (a swap)."""
    snapshots_reset([new])
    ProjectionSnapshotRow.objects.using(READ_DB).filter(projection=old).update(projection=new)
    ProjectionSnapshot.objects.using(READ_DB).filter(projection=old).update(projection=new)
