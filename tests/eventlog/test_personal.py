"""Personal data in the log: sealed under a data key per owner, opened, forgotten, rotated."""

import base64
import os
import uuid

import pytest
from django.core.management import CommandError, call_command

from eventlog import store
from eventlog.crypto import MasterKey, Unreadable, new_key_text
from eventlog.models import DataKey
from eventlog.personal import (
    ENVELOPE,
    DataKeys,
    Opener,
    OwnerForgotten,
    UnreadableEvent,
    accepted_master_keys,
)

pytestmark = pytest.mark.django_db(databases=["default"])

PERSONAL = {"OrderPlaced": ("shipping_address",)}
ADDRESS = {"name": "Ada Marker-7f3a", "line1": "1 Secret Lane", "city": "Oslo", "country": "NO"}


def placed_data(owner: str = "alice", address: dict | None = ADDRESS) -> dict:
    return {"order_id": "o", "customer_id": owner, "total": "9.50", "shipping_address": address}


def append(data: dict, stream_id: uuid.UUID | None = None) -> store.RecordedEvent:
    """Append one OrderPlaced with this (already sealed or clear) data; return it as read."""
    stream_id = stream_id or uuid.uuid4()
    store.append(
        stream_type="order",
        stream_id=stream_id,
        expected_version=0,
        events=[store.NewEvent("OrderPlaced", data, 2)],
    )
    return store.read_stream(stream_id)[0]


def sealed(owner: str = "alice", stream_id: uuid.UUID | None = None) -> store.RecordedEvent:
    stream_id = stream_id or uuid.uuid4()
    data = DataKeys().seal("OrderPlaced", stream_id, placed_data(owner), PERSONAL["OrderPlaced"])
    return append(data, stream_id)


def opened(event: store.RecordedEvent) -> dict:
    return Opener([event], PERSONAL).open(event).data


def with_ciphertext(event: store.RecordedEvent, change) -> dict:
    envelope = dict(event.data[ENVELOPE])
    envelope["ciphertext"] = base64.b64encode(change(base64.b64decode(envelope["ciphertext"])))
    envelope["ciphertext"] = envelope["ciphertext"].decode()
    return {**event.data, ENVELOPE: envelope}


def flip_first_byte(ciphertext: bytes) -> bytes:
    return bytes([ciphertext[0] ^ 1]) + ciphertext[1:]


class TestSealing:
    def test_the_stored_data_holds_no_personal_value_and_opens_to_it(self):
        event = sealed()
        assert "shipping_address" not in event.data
        assert "Marker-7f3a" not in str(event.data) and "Secret Lane" not in str(event.data)
        assert event.data["customer_id"] == "alice"  # whose key: in clear
        assert opened(event) == placed_data()

    def test_each_seal_has_its_own_nonce(self):
        first, second = sealed(), sealed()
        assert first.data[ENVELOPE]["nonce"] != second.data[ENVELOPE]["nonce"]
        assert first.data[ENVELOPE]["key_id"] == second.data[ENVELOPE]["key_id"]  # one key

    def test_each_owner_has_their_own_key(self):
        assert sealed("alice").data[ENVELOPE]["key_id"] != sealed("bob").data[ENVELOPE]["key_id"]
        assert DataKey.objects.count() == 2

    def test_data_without_a_personal_value_is_stored_as_it_is(self):
        data = placed_data(address=None)
        assert DataKeys().seal("OrderPlaced", uuid.uuid4(), data, ("shipping_address",)) is data
        assert DataKey.objects.count() == 0

    def test_an_event_stored_in_clear_reads_as_it_is(self):
        event = append(placed_data())
        assert opened(event) == placed_data()


class TestTampering:
    def test_a_changed_ciphertext_is_refused_by_its_tag(self):
        event = sealed()
        tampered = append(with_ciphertext(event, flip_first_byte))
        with pytest.raises(UnreadableEvent, match="GCM tag"):
            opened(tampered)

    def test_a_ciphertext_moved_to_another_stream_is_refused(self):
        event = sealed()
        with pytest.raises(UnreadableEvent):
            opened(append(dict(event.data)))  # the same data, another stream id

    def test_a_changed_owner_is_refused(self):
        sealed("bob")  # bob has a key too
        event = sealed("alice")
        with pytest.raises(UnreadableEvent):
            opened(event._replace(data={**event.data, "customer_id": "bob"}))

    def test_an_envelope_whose_key_row_is_missing_is_refused(self):
        event = sealed()
        envelope = {**event.data[ENVELOPE], "key_id": str(uuid.uuid4())}
        with pytest.raises(UnreadableEvent, match="does not exist"):
            opened(event._replace(data={**event.data, ENVELOPE: envelope}))


class TestForgetting:
    def test_a_forgotten_owners_sealed_fields_read_as_redacted_and_others_stay(self):
        alice, bob = sealed("alice"), sealed("bob")
        DataKeys().destroy("alice")
        assert opened(alice) == {**placed_data(address=None), "redacted": True}
        assert opened(bob) == placed_data("bob")
        row = DataKey.objects.get(owner="alice")
        assert row.wrapped is None and row.forgotten_at is not None

    def test_events_stored_in_clear_of_a_forgotten_owner_read_as_redacted(self):
        clear = append(placed_data())
        DataKeys().destroy("alice")
        assert opened(clear) == {**placed_data(address=None), "redacted": True}

    def test_an_owner_with_no_key_is_recorded_as_forgotten_and_gets_none_later(self):
        keys = DataKeys()
        keys.destroy("carol")
        assert keys.state("carol") == "forgotten"
        with pytest.raises(OwnerForgotten):
            keys.key_for("carol")

    def test_an_opener_reads_the_keys_once_when_made(self, django_assert_num_queries):
        events = [sealed("alice"), sealed("bob"), append(placed_data("carol"))]
        with django_assert_num_queries(2):  # the key ids; the forgotten owners
            opener = Opener(events, PERSONAL)
        with django_assert_num_queries(0):
            assert [opener.open(e).data["shipping_address"] for e in events] == [ADDRESS] * 3


class TestMasterKey:
    def test_a_wrong_master_key_fails_loudly_instead_of_reading_garbage(self):
        event = sealed()
        other = DataKeys(MasterKey(os.urandom(32)))
        assert "wrapped by master key" in other.check()
        with pytest.raises(Unreadable, match="wrapped by master key"):
            Opener([event], PERSONAL, other).open(event)
        assert DataKeys().check() is None

    def test_the_master_key_id_is_recorded_with_each_wrapped_key(self):
        sealed()
        assert DataKey.objects.get().master_key_id == DataKeys().master.id


class TestRotation:
    def test_rotation_rewraps_every_live_key_and_the_old_key_is_then_refused(self, settings):
        alice, bob = sealed("alice"), sealed("bob")
        DataKeys().destroy("bob")
        old, new_text = settings.ORDINAL_MASTER_KEY, new_key_text()
        new = MasterKey.from_text(new_text)
        assert DataKeys().rotate(new) == 1  # bob's key is gone: nothing to re-wrap
        settings.ORDINAL_MASTER_KEY = new_text
        assert DataKeys().check() is None
        assert opened(alice) == placed_data()
        assert opened(bob)["redacted"] is True
        assert DataKeys().rotate(new) == 0  # again: every live key is wrapped by it already
        settings.ORDINAL_MASTER_KEY = old
        assert "wrapped by master key" in DataKeys().check()

    def test_a_previous_master_key_still_opens_the_keys_it_wrapped(self, settings):
        event = sealed()
        old = settings.ORDINAL_MASTER_KEY
        settings.ORDINAL_MASTER_KEY, settings.ORDINAL_MASTER_KEY_PREVIOUS = new_key_text(), [old]
        assert len(accepted_master_keys()) == 2
        assert DataKeys().check() is None and opened(event) == placed_data()
        # New keys are wrapped by the current one only.
        sealed("dora")
        assert DataKey.objects.get(owner="dora").master_key_id == DataKeys().master.id

    def test_the_command_rotates_under_the_key_its_variable_holds(self, settings, monkeypatch):
        event = sealed()
        new_text = new_key_text()
        monkeypatch.setenv("ORDINAL_NEW_MASTER_KEY", new_text)
        call_command("rotate_master_key", "--new-key-env", "ORDINAL_NEW_MASTER_KEY")
        assert DataKey.objects.get().master_key_id == MasterKey.from_text(new_text).id
        settings.ORDINAL_MASTER_KEY = new_text
        assert opened(event) == placed_data()

    def test_the_command_changes_nothing_when_a_key_does_not_open(self, settings, monkeypatch):
        sealed()
        before = list(DataKey.objects.values_list("wrapped", "master_key_id"))
        settings.ORDINAL_MASTER_KEY = new_key_text()  # not the key that wrapped it
        monkeypatch.setenv("ORDINAL_NEW_MASTER_KEY", new_key_text())
        with pytest.raises(CommandError, match="Nothing changed"):
            call_command("rotate_master_key", "--new-key-env", "ORDINAL_NEW_MASTER_KEY")
        assert list(DataKey.objects.values_list("wrapped", "master_key_id")) == before

    @pytest.mark.parametrize("value", [None, "not base64!", base64.b64encode(b"short").decode()])
    def test_the_command_refuses_a_missing_or_malformed_key(self, monkeypatch, value):
        if value is None:
            monkeypatch.delenv("ORDINAL_NEW_MASTER_KEY", raising=False)
        else:
            monkeypatch.setenv("ORDINAL_NEW_MASTER_KEY", value)
        with pytest.raises(CommandError):
            call_command("rotate_master_key", "--new-key-env", "ORDINAL_NEW_MASTER_KEY")
