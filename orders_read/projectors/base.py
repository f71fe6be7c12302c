"""The projector base: load the rows a batch touches, apply events in memory, write in bulk."""

import re
from collections.abc import Hashable, Iterable, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any, ClassVar

from django.db import connections, models

from eventlog.personal import DataKeys, NoDataKeys, Opener
from eventlog.store import RecordedEvent as Recorded
from orders_write.domain.events import UnknownSchemaVersion, personal_fields, schema_versions
from orders_write.domain.upcasting import upcast

from .locks import keys_lock
from .merge import copied, merge_write
from .upsert import upsert

READ_DB = "read"
ALL_ROWS, CHANGED_ROWS = "all", "changed"


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
    Rows are plain dicts keyed by field name. Handlers change rows in `self.rows`
    only; `apply` writes the changed rows at the end of the batch, so a batch costs
    one read and one bulk write, not one per event.

    A projector made with `complete=True` holds every row that exists (a rebuild
    starts from an empty table): it never reads the table, and it keeps its rows
    from one batch to the next.
    """

    name: ClassVar[str]
    model: ClassVar[type[models.Model]]
    handlers: ClassVar[dict[str, str]] = {}
    # What the runner copies at each projection snapshot (`orders_read.snapshots`), for
    # as_of answers: None (no snapshots), ALL_ROWS (a report read whole) or CHANGED_ROWS
    # (rows read one at a time: only those changed since the previous snapshot).
    snapshot_rows: ClassVar[str | None] = None
    # Whether handlers read personal fields: then `apply` opens them (decrypted, or
    # redacted once the customer is forgotten) before the handlers see the events; other
    # projectors see them sealed and never ask for a data key.
    reads_personal_data: ClassVar[bool] = False
    # How a partition's runner merges its changes into rows other partitions change too
    # ({column: "add" | "add_map" | "max"}, `orders_read.projectors.merge`); without
    # merges it locks the keys of the rows a batch changes for the whole batch instead.
    merges: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = {
            _event_type(attr): attr for attr in dir(cls) if re.fullmatch(r"on_[a-z_]+", attr)
        }

    def __init__(
        self,
        *,
        complete: bool = False,
        model: type[models.Model] | None = None,
        label: str | None = None,
        data_keys: DataKeys | NoDataKeys | None = None,
        lock_keys: bool = False,
    ) -> None:
        # A new generation of the read model (a rebuild) is another table, and records
        # its snapshots and parked streams under another label.
        if model is not None:
            self.model = model
        self.label = label or self.name
        self.data_keys = data_keys  # the customers' data keys (None: the database's)
        self.rows: dict[Hashable, dict[str, Any]] = {}
        self.changed: set[Hashable] = set()
        self.complete = complete
        # Runners of other partitions change rows too: merge into them (PostgreSQL), or
        # lock the keys of the rows a batch changes first (`orders_read.projectors.locks`).
        self.lock_keys = lock_keys
        self.merging = (
            bool(lock_keys and self.merges) and connections[READ_DB].vendor == "postgresql"
        )
        self.before: dict[Hashable, dict[str, Any]] = {}  # rows as read, when merging
        self._handle = {kind: getattr(self, method) for kind, method in self.handlers.items()}

    def keys(self, event: Recorded) -> Iterable[Hashable]:
        """Return the primary keys of the rows the event touches."""
        raise NotImplementedError

    def keys_to_lock_first(self, events: Sequence[Recorded]) -> Iterable[Hashable]:
        """Return keys to lock before `keys` is asked (it may read the table): none here."""
        return ()

    def apply(self, events: Sequence[Recorded], *, save: bool = True) -> None:
        """Apply a batch of events; raise HandlerFailed before writing anything.

        Handlers see every event in its type's newest schema: older stored data is
        upcast here first (the stored rows stay as they are), after its personal fields
        are opened if the projector reads them (a ciphertext that fails its tag fails
        like a handler: the stream is parked). The failure raised is the batch's first,
        in log order.
        """
        handle, current = self._handle, schema_versions()  # once per batch, not per event
        stop, failure = len(events), None
        if not self.complete:
            if self.lock_keys:
                keys_lock(self.label, "first", self.keys_to_lock_first(events))
            wanted, failure = self._keys_of(events, current)
            if self.lock_keys and not self.merging:
                keys_lock(self.label, "row", wanted)
            self.load(wanted - self.rows.keys())
            if failure is not None:
                stop = failure.index  # the events before it may fail first, in a handler
        # Opened after the locks: a key destroyed by then reads as forgotten.
        personal = personal_fields() if self.reads_personal_data else {}
        opener = Opener(events, personal, self.data_keys) if personal else None
        # One pass, every name local: this loop runs once per event and projection.
        for index, event in enumerate(islice(events, stop)):
            kind = event.type
            if kind not in handle:
                continue
            try:
                if opener is not None and kind in personal:
                    event = opener.open(event)
                # Inline, not a newest_schema call per event: most events are current.
                if event.schema_version != current.get(kind, 1):
                    event = newest_schema(event, current)
                handle[kind](event)
            except Exception as exc:
                raise HandlerFailed(index, event.position, exc) from exc
        if failure is not None:
            raise failure
        if save:
            self.save()

    def _keys_of(
        self, events: Sequence[Recorded], current: dict[str, int]
    ) -> tuple[set[Hashable], HandlerFailed | None]:
        """Return the keys of the rows the events touch, up to the first event that fails."""
        wanted: set[Hashable] = set()
        for index, event in enumerate(events):
            if event.type in self._handle:
                try:
                    wanted.update(self.keys(newest_schema(event, current)))
                except Exception as exc:
                    failure = HandlerFailed(index, event.position, exc)
                    failure.__cause__ = exc
                    return wanted, failure
        return wanted, None

    def load(self, keys: set[Hashable]) -> None:
        """Read the rows with these keys that exist into `self.rows`."""
        if not keys:
            return
        pk = self.model._meta.pk.attname
        found = self.model.objects.using(READ_DB).filter(pk__in=keys).values()
        self.rows.update((row[pk], row) for row in found)
        if self.merging:
            self.before.update((row[pk], copied(row, self.merges)) for row in found)

    def save(self) -> None:
        """Write every changed row in one bulk upsert."""
        if not self.changed:
            return
        # In key order, so concurrent writers of one table take row locks alike.
        keys = sorted(self.changed, key=str)
        if self.merging:
            changes = [(self.before.get(key), self.rows[key]) for key in keys]
            merge_write(self.model, self.merges, changes)
        else:
            upsert(self.model, [self.rows[key] for key in keys])
        self.changed.clear()

    def forget(self) -> None:
        """Save, then drop the rows held in memory; they are read again when needed."""
        self.save()
        self.rows.clear()
        self.complete = False

    def row(self, key: Hashable) -> dict[str, Any]:
        """Return the row to change (KeyError if it does not exist) and mark it changed."""
        found = self.rows[key]
        self.changed.add(key)
        return found

    def row_or_new(self, key: Hashable, **values: Any) -> dict[str, Any]:
        """Return the row to change, creating it from `values` and field defaults if needed."""
        if key not in self.rows:
            self.new_row(key, **values)
        return self.row(key)

    def new_row(self, key: Hashable, **values: Any) -> dict[str, Any]:
        """Put a new row, `values` over the fields' defaults, in place of any row at `key`."""
        if "_fixed_defaults" not in type(self).__dict__:
            type(self)._defaults_learn()
        row = {**self._fixed_defaults, **values, self._pk: key}
        for attname, make in self._made_defaults:
            # Lists and dicts made afresh per row, and only when `values` has none.
            if attname not in values:
                row[attname] = make()
        self.rows[key] = row
        self.changed.add(key)
        return row

    @classmethod
    def _defaults_learn(cls) -> None:
        # Fixed defaults are shared; callable ones (JSON dicts, lists) made per row.
        fields = cls.model._meta.concrete_fields
        cls._pk = cls.model._meta.pk.attname
        cls._fixed_defaults = {
            f.attname: f.get_default()
            for f in fields
            if not f.has_default() or not callable(f.default)
        }
        cls._made_defaults = [
            (f.attname, f.default) for f in fields if f.has_default() and callable(f.default)
        ]

    def reset(self) -> None:
        """Delete every row of the read model (before a build)."""
        self.model.objects.using(READ_DB).all().delete()


def newest_schema(event: Recorded, versions: dict[str, int] | None = None) -> Recorded:
    """Return the event with its data upcast to its type's current schema version.

    `versions` is `schema_versions()`, passed in by callers that convert many events.
    An event newer than this code knows (written by a newer release) is refused, so
    it stops its projection and is retried after the deploy rather than misread.
    """
    current = (versions or schema_versions()).get(event.type, 1)
    if event.schema_version == current:
        return event
    if event.schema_version > current:
        raise UnknownSchemaVersion(
            f"{event.type} v{event.schema_version} is newer than this code's v{current}."
        )
    data = upcast(event.type, event.schema_version, event.data)
    return event._replace(data=data, schema_version=current)


CENTS, ZERO = Decimal("0.01"), Decimal("0.00")


def money(value: str | Decimal) -> Decimal:
    """Return an amount as a Decimal with two places."""
    return Decimal(value).quantize(CENTS)


def add_money(amounts: dict[str, str | Decimal], currency: str, amount: Decimal) -> None:
    """Add a two-place amount to a {currency: amount} map, in place.

    The map holds decimal strings as stored; sums stay Decimals until the row is
    written (as strings again), which saves a round trip through str per event.
    """
    held = amounts.get(currency, ZERO)
    amounts[currency] = (held if held.__class__ is Decimal else Decimal(held)) + amount
