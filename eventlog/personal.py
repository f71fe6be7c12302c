"""Personal data in events: sealed under its owner's data key on append, opened on read.

An event's personal fields (which ones, the domain says) are taken out of its data and
replaced by one envelope, `data["_personal"]`:

    {"key_id": <uuid>, "nonce": <base64>, "ciphertext": <base64>, "fields": [<names>]}

The ciphertext is the JSON of those fields under AES-GCM with the owner's data key
(the owner, `data["customer_id"]`, stays in clear: it says whose key to use), bound to
the event's type, stream, owner and key id. Readers open a batch of events with one
query for the keys it needs (`Opener`): sealed fields come back in clear, or, once the
owner is forgotten (the key destroyed), as None with `"redacted": true`. An event with
no envelope (written before sealing existed, or with no personal field) reads as it is
stored, unless its owner is forgotten: then its personal fields read as redacted too.
"""

import base64
import logging
from binascii import a2b_base64
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple
from uuid import UUID, uuid4

import orjson
from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from .crypto import MasterKey, Unreadable, new_key, seal, unseal
from .models import DataKey
from .recorders.base import RecordedEvent

ENVELOPE = "_personal"
OWNER = "customer_id"
REDACTED = "redacted"
WRITE_DB = "default"
# Keys looked up by one statement (SQLite takes at most 999 parameters).
KEYS_A_STATEMENT = 900
KEY_ROW = f"SELECT key_id, wrapped, master_key_id FROM {DataKey._meta.db_table} WHERE owner = %s"

logger = logging.getLogger(__name__)

Data = dict[str, Any]
PersonalFields = Mapping[str, tuple[str, ...]]  # event type -> its personal fields


class OwnerForgotten(Exception):
    """The owner was forgotten: nothing new may be sealed for them."""


class UnreadableEvent(Exception):
    """An event's sealed fields cannot be opened: tampered with, or its key row is missing."""

    def __init__(self, event: RecordedEvent, reason: str) -> None:
        super().__init__(f"Event at position {event.position} is unreadable: {reason}")
        self.position = event.position


@lru_cache(maxsize=8)
def _master_key(text: str) -> MasterKey:
    return MasterKey.from_text(text)


def master_key() -> MasterKey:
    """Return the master key ORDINAL_MASTER_KEY names: it wraps every new data key."""
    return _master_key(settings.ORDINAL_MASTER_KEY)


def accepted_master_keys() -> dict[str, MasterKey]:
    """Return every master key that may open a data key, by id: the current one, and those
    of ORDINAL_MASTER_KEY_PREVIOUS (kept while a rotation is rolled out)."""
    keys = [master_key(), *(_master_key(text) for text in settings.ORDINAL_MASTER_KEY_PREVIOUS)]
    return {key.id: key for key in reversed(keys)}


def _bound_key(key_id: UUID | str, owner: str) -> bytes:
    return f"data key\0{key_id}\0{owner}".encode()


def _bound_event(event_type: str, stream_id: UUID | str, owner: str, key_id: str) -> bytes:
    # The stream id reads back as a UUID or as text, per backend and path: made a UUID
    # (only if it is not one: this runs once per event opened).
    if stream_id.__class__ is not UUID:
        stream_id = UUID(str(stream_id))
    return f"{event_type}\0{stream_id}\0{owner}\0{key_id}".encode()


class KeyRow(NamedTuple):
    """A data key's row, as readers of sealed events need it."""

    key_id: UUID | str
    owner: str
    wrapped: bytes | None
    master_key_id: str


class DataKeys:
    """The data keys on the write database, wrapped by the master key."""

    def __init__(self, master: MasterKey | None = None) -> None:
        self._master = master

    @property
    def master(self) -> MasterKey:
        return self._master or master_key()

    def key_for(self, owner: str) -> tuple[str, bytes]:
        """Return (key id, key) of the owner's data key, made on first use.

        Raise OwnerForgotten if the owner was forgotten. Runs in the caller's transaction:
        a key made for a command that rolls back is rolled back with it.
        """
        # Read first: most orders are a returning customer's, whose key exists (one
        # statement, not the two of insert-then-read, and no key made for nothing).
        key_id, wrapped, master_key_id = self._key_row(owner) or self._made(owner)
        if wrapped is None:
            raise OwnerForgotten(f"{owner} was forgotten.")
        return key_id, self.unwrap(KeyRow(key_id, owner, wrapped, master_key_id))

    @staticmethod
    def _key_row(owner: str) -> tuple[str, bytes | None, str] | None:
        """Return (key id, wrapped key, master key id) of the owner's key row, or None.

        A plain statement, not a queryset: every order with an address runs it, and the
        ORM's own work would cost more than the round trip itself.
        """
        with connections[WRITE_DB].cursor() as cursor:
            cursor.execute(KEY_ROW, [owner])
            found = cursor.fetchone()
        if found is None:
            return None
        key_id, wrapped, master_key_id = found
        # A UUID on PostgreSQL, 32 hex digits on SQLite: the same text either way.
        return str(UUID(str(key_id))), wrapped, master_key_id

    def _made(self, owner: str) -> tuple[str, bytes | None, str]:
        """Make the owner's data key, unless a concurrent first order made it first, and
        return its row as `_key_row` does."""
        key_id = uuid4()
        master = self.master
        # ON CONFLICT DO NOTHING: a concurrent first order of the same owner made it first
        # (PostgreSQL waits for that insert to commit); the caller then reads theirs.
        DataKey.objects.using(WRITE_DB).bulk_create(
            [
                DataKey(
                    key_id=key_id,
                    owner=owner,
                    wrapped=master.wrap(new_key(), _bound_key(key_id, owner)),
                    master_key_id=master.id,
                    created_at=timezone.now(),
                )
            ],
            ignore_conflicts=True,
        )
        found = self._key_row(owner)
        if found is None:  # rows are never deleted: a bug, not a race
            raise DataKey.DoesNotExist(f"The data key of {owner} was made but is not found.")
        return found

    def unwrap(self, row: DataKey | KeyRow) -> bytes:
        """Return the row's data key, opened with the master key that wrapped it.

        Raise Unreadable, naming both, if that master key is not one in use.
        """
        masters = {self._master.id: self._master} if self._master else accepted_master_keys()
        master = masters.get(row.master_key_id)
        if master is None:
            raise Unreadable(
                f"The data key of {row.owner} was wrapped by master key {row.master_key_id}, "
                f"but the master keys in use are {', '.join(sorted(masters))}."
            )
        return master.unwrap(bytes(row.wrapped), _bound_key(row.key_id, row.owner))

    def lookup(
        self, key_ids: Iterable[str], owners: Iterable[str]
    ) -> tuple[dict[str, KeyRow], set[str]]:
        """Return the rows of these key ids, by id, and which of these owners are forgotten."""
        rows = DataKey.objects.using(WRITE_DB)
        found: dict[str, KeyRow] = {}
        ids = sorted(key_ids)
        for start in range(0, len(ids), KEYS_A_STATEMENT):
            chunk = rows.filter(key_id__in=ids[start : start + KEYS_A_STATEMENT])
            # Tuples, not model instances: a rebuild reads a thousand keys a batch.
            for row in chunk.values_list(*KeyRow._fields):
                found[str(row[0])] = KeyRow._make(row)
        forgotten: set[str] = set()
        names = sorted(owner for owner in owners if owner is not None)
        for start in range(0, len(names), KEYS_A_STATEMENT):
            chunk = rows.filter(owner__in=names[start : start + KEYS_A_STATEMENT])
            forgotten.update(chunk.filter(wrapped__isnull=True).values_list("owner", flat=True))
        return found, forgotten

    def destroy(self, owner: str) -> None:
        """Destroy the owner's data key, or record that they are forgotten if they have none."""
        rows = DataKey.objects.using(WRITE_DB)
        now = timezone.now()
        if rows.filter(owner=owner).update(wrapped=None, forgotten_at=now):
            return
        try:
            with transaction.atomic(using=WRITE_DB):  # a savepoint: the insert may lose a race
                rows.create(
                    key_id=uuid4(), owner=owner, wrapped=None, created_at=now, forgotten_at=now
                )
        except IntegrityError:
            # A first order of the owner made their key meanwhile: destroy that one.
            rows.filter(owner=owner).update(wrapped=None, forgotten_at=now)

    def state(self, owner: str) -> str | None:
        """Return "live", "forgotten", or None if the owner has no key row."""
        found = DataKey.objects.using(WRITE_DB).filter(owner=owner).first()
        if found is None:
            return None
        return "forgotten" if found.wrapped is None else "live"

    def rotate(self, new: MasterKey) -> int:
        """Re-wrap under `new` every live data key it does not wrap yet, in one transaction.

        Return how many were re-wrapped. Each is opened first with the master key in use
        that wrapped it, so a key no master key in use opens changes nothing: Unreadable.
        """
        with transaction.atomic(using=WRITE_DB):
            live = list(
                DataKey.objects.using(WRITE_DB)
                .select_for_update()
                .filter(wrapped__isnull=False)
                .exclude(master_key_id=new.id)
                .order_by("key_id")
            )
            for row in live:
                key = self.unwrap(row)
                row.wrapped = new.wrap(key, _bound_key(row.key_id, row.owner))
                row.master_key_id = new.id
            DataKey.objects.using(WRITE_DB).bulk_update(
                live, ["wrapped", "master_key_id"], batch_size=500
            )
        return len(live)

    def check(self) -> str | None:
        """Say why the master keys in use cannot open the data keys, or None if they can.

        Every master key that wrapped a live data key must be in use, and one data key
        per master key is opened for proof.
        """
        rows = DataKey.objects.using(WRITE_DB).filter(wrapped__isnull=False)
        masters = {self._master.id: self._master} if self._master else accepted_master_keys()
        used = set(rows.values_list("master_key_id", flat=True).distinct())
        missing = sorted(used - set(masters))
        if missing:
            return (
                f"Data keys were wrapped by master key {', '.join(missing)}, but the master "
                f"keys in use are {', '.join(sorted(masters))}: set ORDINAL_MASTER_KEY "
                "(or ORDINAL_MASTER_KEY_PREVIOUS) to the key they were wrapped with."
            )
        for master_id in sorted(used):
            sample = rows.filter(master_key_id=master_id).first()
            try:
                self.unwrap(sample)
            except Unreadable as exc:
                return f"{exc} (master key {master_id} does not open it)"
        return None

    def seal(self, event_type: str, stream_id: UUID, data: Data, fields: Sequence[str]) -> Data:
        """Return the event's data with its personal fields sealed in one envelope.

        Raise OwnerForgotten if the owner was forgotten. Data whose personal fields are
        all None has nothing to hide and is returned as it is.
        """
        if not fields or all(data.get(name) is None for name in fields):
            return data
        owner = data[OWNER]
        key_id, key = self.key_for(owner)
        clear = {name: data[name] for name in fields}
        nonce, ciphertext = seal(
            key, orjson.dumps(clear), _bound_event(event_type, stream_id, owner, key_id)
        )
        sealed = {name: value for name, value in data.items() if name not in clear}
        sealed[ENVELOPE] = {
            "key_id": key_id,
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "fields": list(fields),
        }
        return sealed


class Opener:
    """Opens the personal fields of a batch of events, with one lookup of the keys it needs.

    `personal` names each event type's personal fields (for events stored in clear).
    Keys are read when the opener is made, so a forget that commits later is seen by
    the next batch's opener, never half-way through one.
    """

    def __init__(
        self,
        events: Iterable[RecordedEvent],
        personal: PersonalFields,
        keys: "DataKeys | NoDataKeys | None" = None,
    ) -> None:
        self.personal = personal
        self.keys = keys or DataKeys()
        key_ids: set[str] = set()
        owners: set[str] = set()
        for event in events:
            data = event.data
            envelope = data.get(ENVELOPE) if data.__class__ is dict else None
            if envelope is not None:
                key_ids.add(envelope["key_id"])
            elif event.type in personal:
                owners.add(data.get(OWNER))
        self._rows: dict[str, KeyRow] = {}
        self._forgotten: set[str] = set()
        self._opened: dict[str, bytes | None] = {}
        if key_ids or owners:
            self._rows, self._forgotten = self.keys.lookup(key_ids, owners)

    def open(self, event: RecordedEvent) -> RecordedEvent:
        """Return the event with its personal fields in clear, or redacted if forgotten.

        Raise UnreadableEvent if the ciphertext fails its tag or its key row is missing.
        """
        data = event.data
        envelope = data.get(ENVELOPE)
        if envelope is None:
            fields = self.personal.get(event.type)
            if fields and data.get(OWNER) in self._forgotten:
                return event._replace(data=redacted(data, fields))
            return event
        key_id = envelope["key_id"]
        key = self._key(event, key_id)
        if key is None:
            return event._replace(data=redacted(data, envelope["fields"]))
        try:
            clear = orjson.loads(
                unseal(
                    key,
                    # What base64.b64decode does, minus its wrapper (once per event).
                    a2b_base64(envelope["nonce"]),
                    a2b_base64(envelope["ciphertext"]),
                    _bound_event(event.type, event.stream_id, data[OWNER], key_id),
                )
            )
        except (Unreadable, ValueError, TypeError, KeyError) as exc:
            raise UnreadableEvent(event, str(exc)) from None
        opened = data.copy()
        del opened[ENVELOPE]
        opened.update(clear)
        return event._replace(data=opened)

    def _key(self, event: RecordedEvent, key_id: str) -> bytes | None:
        """Return the data key (None once forgotten); unwrapped at most once per batch."""
        if key_id in self._opened:
            return self._opened[key_id]
        row = self._rows.get(key_id)
        if row is None:
            raise UnreadableEvent(event, f"its data key {key_id} does not exist")
        key = None if row.wrapped is None else self.keys.unwrap(row)
        self._opened[key_id] = key
        return key

    def forgotten(self, event: RecordedEvent) -> bool:
        """Tell whether the event's owner is forgotten (as far as this batch's keys say)."""
        envelope = event.data.get(ENVELOPE)
        if envelope is not None:
            row = self._rows.get(envelope["key_id"])
            return row is not None and row.wrapped is None
        return event.data.get(OWNER) in self._forgotten


class NoDataKeys:
    """A key store that holds no key and has forgotten no one: for tests of readers over
    events stored in clear, without a database."""

    def lookup(
        self, key_ids: Iterable[str], owners: Iterable[str]
    ) -> tuple[dict[str, KeyRow], set[str]]:
        return {}, set()

    def unwrap(self, row: DataKey | KeyRow) -> bytes:
        raise Unreadable("There are no data keys here.")


def redacted(data: Data, fields: Iterable[str]) -> Data:
    """Return the data with these fields None, no envelope, and `"redacted": true`."""
    out = {name: value for name, value in data.items() if name != ENVELOPE}
    out.update(dict.fromkeys(fields))
    out[REDACTED] = True
    return out


def withheld(data: Data) -> Data:
    """Return the data with sealed fields as None, without opening them (for code that
    needs no personal data, e.g. the write side deciding a command)."""
    envelope = data.get(ENVELOPE)
    if envelope is None:
        return data
    out = {name: value for name, value in data.items() if name != ENVELOPE}
    out.update(dict.fromkeys(envelope["fields"]))
    return out
