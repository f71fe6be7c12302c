"""Projection snapshots: copies of a read model at points of the feed, so `as_of` stays cheap.

The runner takes a snapshot of a projection (one whose projector sets `snapshot_rows`)
inside the transaction that moves it past a snapshot point: the first event of the feed
whose position is at least ORDINAL_PROJECTION_SNAPSHOT_EVERY past its previous
snapshot's (past 0 for the first). The feed is the same sequence for catch-up and
rebuild (eventlog.store.read_feed), so both take them at the same events. A snapshot is
known by its event's feed key (tx_id, position) and holds the read model with every
event of the feed up to that key applied.

The state at any feed key k is then the newest snapshot at or before k plus a replay,
in memory and through the same projector, of the events after it up to k.
"""

from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from django.conf import settings
from django.db import connections
from django.db.models import Q

from eventlog import store
from orders_write.domain.events import schema_versions

from .models import ProjectionSnapshot, ProjectionSnapshotRow
from .projectors import HandlerFailed, Projector, Recorded
from .projectors.base import ALL_ROWS, newest_schema
from .replicas import query_db

READ_DB = "read"
PAGE = 1000
# The key of a whole report's one document (ALL_ROWS projections).
WHOLE = "*"
# Snapshot headers recorded by one INSERT (SQLite takes at most 999 parameters).
HEADERS_A_STATEMENT = 400

Row = dict[str, Any]
Key = tuple[int, int]  # a feed key: (tx_id, position)
Document = dict[str, str]  # a snapshot's rows as stored: {key: JSON text}
# Like SnapshotEncoder: datetimes to isoformat() through `default`, other keys as str.
ENCODE_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def upcasted(events: Iterable[Recorded]) -> list[Recorded]:
    """Return stored events with their data lifted to the newest schema (before any fold).

    Types the domain does not define pass unchanged (no projector handles them), and an
    event once lifted says so, so lifting it again changes nothing.
    """
    versions = schema_versions()
    return [newest_schema(event, versions) for event in events]


def events_between(after: Key, upto: Key) -> list[Recorded]:
    """Return the committed events with feed keys after < key <= upto, upcast, in feed order."""
    found: list[Recorded] = []
    while after < upto:
        page = store.read_keys(after, upto, PAGE)
        found.extend(page)
        if len(page) < PAGE:
            break
        after = page[-1].feed_key
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
    # Each snapshot is encoded when taken (the rows change after it) and all are
    # written together at the end: two statements a batch, not two a snapshot.
    taken: list[tuple[Key, Document]] = []
    while True:
        threshold = (previous[1] if previous else 0) + every
        index = next(
            (i for i in range(start, len(events)) if events[i].position >= threshold),
            len(events),
        )
        if index == len(events):
            break
        event = events[index]
        part = events[start : index + 1]
        _apply_part(projector, part, start, save)
        changed = None
        if previous is not None and projector.snapshot_rows != ALL_ROWS:
            # The events since the previous snapshot: this part, and (for the batch's
            # first snapshot) the ones earlier batches applied after it.
            earlier = (
                [
                    e
                    for e in events_between(previous, events[0].feed_key)
                    if e.feed_key < events[0].feed_key
                ]
                if start == 0
                else []
            )
            changed = _keys(projector, [*earlier, *part])
        taken.append((event.feed_key, _document(projector, changed)))
        previous, start = event.feed_key, index + 1
    if start < len(events):
        _apply_part(projector, events[start:], start, save)
    _snapshots_write(projector.label, taken)


def _apply_part(projector: Projector, part: Sequence[Recorded], offset: int, save: bool) -> None:
    try:
        projector.apply(part, save=save)
    except HandlerFailed as exc:
        raise HandlerFailed(offset + exc.index, exc.position, exc.error) from exc.error


def _keys(projector: Projector, events: Iterable[Recorded]) -> set[Hashable]:
    keys: set[Hashable] = set()
    handled, versions, keys_of = projector.handlers, schema_versions(), projector.keys
    for event in events:
        if event.type in handled:
            if event.schema_version != versions.get(event.type, 1):
                event = newest_schema(event, versions)
            keys.update(keys_of(event))
    return keys


def snapshot_take(projector: Projector, key: Key, changed: set[Hashable] | None) -> None:
    """Copy the projector's rows as they stand at feed key `key`: all, or only `changed` ones.

    The projector may hold rows not yet written (a rebuild writes late): its rows win
    over the table's.
    """
    _snapshots_write(projector.label, [(key, _document(projector, changed))])


def _document(projector: Projector, changed: set[Hashable] | None) -> Document:
    """Return the snapshot's rows, encoded: {key: JSON text}."""
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
        return {WHOLE: _encode([rows[key] for key in sorted(rows, key=str)])}
    return {str(key): _encode(row) for key, row in rows.items()}


def _encode(value: Any) -> str:
    """Encode rows as SnapshotEncoder does (its output, parsed, is the same), faster."""
    return orjson.dumps(value, default=_encode_other, option=ENCODE_OPTIONS).decode()


def _encode_other(value: Any) -> str:
    # Amounts first: they are most of the values that come here.
    if value.__class__ is Decimal:
        return str(value)
    # Datetimes pass through orjson to isoformat(), so they read back exactly as before.
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _snapshots_write(name: str, taken: Sequence[tuple[Key, Document]]) -> None:
    """Record the snapshots and their rows; pass over any already recorded.

    Only a runner that lost its lock could find a snapshot taken (by the runner that
    holds it now, with the same rows): its checkpoint compare-and-set then rolls it
    all back, so it must get that far (no error here).
    """
    if not taken:
        return
    new = _headers_insert(name, [key for key, _ in taken])
    _rows_insert(name, [(key, rows) for key, rows in taken if key in new])


def _headers_insert(name: str, keys: list[Key]) -> set[Key]:
    """Record the snapshots at these feed keys; return those not already recorded."""
    table = ProjectionSnapshot._meta.db_table
    new: set[Key] = set()
    with connections[READ_DB].cursor() as cursor:
        for start in range(0, len(keys), HEADERS_A_STATEMENT):
            chunk = keys[start : start + HEADERS_A_STATEMENT]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            cursor.execute(
                f'INSERT INTO "{table}" (projection, tx_id, position) VALUES {values} '
                "ON CONFLICT DO NOTHING RETURNING tx_id, position",
                [value for key in chunk for value in (name, *key)],
            )
            new.update((tx_id, position) for tx_id, position in cursor.fetchall())
    return new


def _rows_insert(name: str, taken: list[tuple[Key, Document]]) -> None:
    if not taken:
        return
    table = ProjectionSnapshotRow._meta.db_table
    columns = "projection, tx_id, position, key, row"
    connection = connections[READ_DB]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            # The JSON text as the field would store it (SQLite keeps JSON as text).
            cursor.executemany(
                f'INSERT INTO "{table}" ({columns}) VALUES (%s, %s, %s, %s, %s)',
                [(name, *at, key, text) for at, rows in taken for key, text in rows.items()],
            )
            return
        # COPY, not bulk_create: quoting the rows into one INSERT took two thirds of a
        # rebuild (profiled); straight into the table, as the header insert vouches for them.
        with cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
            for (tx_id, position), rows in taken:
                for key, text in rows.items():
                    copy.write_row((name, tx_id, position, key, text))


def _table_rows(model, keys: set[Hashable] | None) -> dict[Hashable, Row]:
    if keys is not None and not keys:
        return {}
    rows = model.objects.using(READ_DB).all()
    if keys is not None:
        rows = rows.filter(pk__in=keys)
    pk = model._meta.pk.attname
    return {row[pk]: row for row in rows.values()}


def snapshot_last(name: str) -> Key | None:
    """Return the feed key of the projection's newest snapshot, or None if it has none."""
    found = ProjectionSnapshot.objects.using(READ_DB).filter(projection=name)
    return found.order_by("-tx_id", "-position").values_list("tx_id", "position").first()


def _at_or_before(key: Key) -> Q:
    """Snapshots (or their rows) at or before the feed key."""
    return Q(tx_id__lt=key[0]) | Q(tx_id=key[0], position__lte=key[1])


def snapshots_reset(names: Iterable[str]) -> None:
    """Delete the snapshots of these projections (a rebuild takes them anew)."""
    names = list(names)
    ProjectionSnapshotRow.objects.using(READ_DB).filter(projection__in=names).delete()
    ProjectionSnapshot.objects.using(READ_DB).filter(projection__in=names).delete()


def state_at(
    projector_class: type[Projector], at: Key, key: Hashable | None = None
) -> dict[Hashable, Row]:
    """Return the projection's rows with the feed applied up to key `at` (only `key`'s row,
    if given).

    Cost: one snapshot read plus a replay of the events after it up to `at`: about
    ORDINAL_PROJECTION_SNAPSHOT_EVERY (more only before a projection's first snapshot on
    a log that had history before snapshots existed; a rebuild gives it snapshots).
    """
    name = projector_class.name
    # As a query asks it, on the query's database: a replica behind on snapshots only
    # makes the replay from the log longer, never the answer different.
    db = query_db()
    taken = (
        ProjectionSnapshot.objects.using(db)
        .filter(_at_or_before(at), projection=name)
        .order_by("-tx_id", "-position")
        .values_list("tx_id", "position")
        .first()
    )
    projector = projector_class(complete=True)
    copies = ProjectionSnapshotRow.objects.using(db).filter(projection=name)
    found: Iterable = []
    if taken is not None:
        tx_id, position = taken
        if projector_class.snapshot_rows == ALL_ROWS:
            document = copies.filter(tx_id=tx_id, position=position, key=WHOLE)
            found = [row for rows in document.values_list("row", flat=True) for row in rows]
        elif key is None:
            found = copies.filter(tx_id=tx_id, position=position).values_list("row", flat=True)
        else:
            # The newest copy at or before the snapshot: a later one would show a change.
            latest = copies.filter(_at_or_before(taken), key=str(key))
            found = latest.order_by("-tx_id", "-position").values_list("row", flat=True)[:1]
    pk = projector_class.model._meta.pk.attname
    for data in found:
        row = _decoded(projector_class.model, data)
        projector.rows[row[pk]] = row
    events = events_between(taken or (0, 0), at)
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
