"""Contract of the event log, run on whichever backend the settings name."""

import uuid

import pytest
from django.db import DatabaseError, connections, transaction

from eventlog import store
from eventlog.models import AppendOnlyError, Event
from tests.conftest import postgres_only

pytestmark = pytest.mark.django_db(databases=["default", "read"])


def events(*types: str) -> list[store.NewEvent]:
    return [store.NewEvent(t, {"n": i}) for i, t in enumerate(types)]


def append(stream_id, expected_version, *types, metadata=None):
    return store.append(
        stream_type="order",
        stream_id=stream_id,
        expected_version=expected_version,
        events=events(*types),
        metadata=metadata or {"actor": "test"},
    )


class TestAppend:
    def test_numbers_versions_from_one_and_positions_upward(self):
        stream = uuid.uuid4()
        first = append(stream, 0, "A", "B")
        second = append(stream, 2, "C")
        assert [e.version for e in first + second] == [1, 2, 3]
        positions = [e.position for e in first + second]
        assert positions == sorted(positions) and len(set(positions)) == 3
        assert second[0].metadata == {"actor": "test"}
        assert second[0].recorded_at.tzinfo is not None

    def test_wrong_expected_version_raises_and_writes_nothing(self):
        stream = uuid.uuid4()
        append(stream, 0, "A")
        for wrong in (0, 2, 7):
            with pytest.raises(store.ConcurrencyError) as raised:
                append(stream, wrong, "B")
            assert raised.value.actual == 1
        assert Event.objects.filter(stream_id=stream).count() == 1

    def test_needs_at_least_one_event(self):
        with pytest.raises(ValueError):
            store.append(stream_type="order", stream_id=uuid.uuid4(), expected_version=0, events=[])

    def test_rolls_back_with_the_callers_transaction(self):
        stream = uuid.uuid4()
        with pytest.raises(RuntimeError), transaction.atomic(using="default"):
            append(stream, 0, "A")
            raise RuntimeError("caller fails after appending")
        assert store.read_stream(stream) == []

    def test_unique_stream_version_is_enforced_by_the_database(self):
        stream = uuid.uuid4()
        append(stream, 0, "A")
        row = Event(stream_type="order", stream_id=stream, version=1, type="X", data={})
        row.recorded_at = store.read_stream(stream)[0].recorded_at
        with pytest.raises(DatabaseError), transaction.atomic(using="default"):
            row.save()


class TestRead:
    def test_read_stream_returns_that_stream_in_version_order(self):
        mine, other = uuid.uuid4(), uuid.uuid4()
        append(mine, 0, "A")
        append(other, 0, "X")
        append(mine, 1, "B", "C")
        assert [e.type for e in store.read_stream(mine)] == ["A", "B", "C"]
        assert store.read_stream(uuid.uuid4()) == []

    def test_read_all_pages_by_position_as_plain_rows(self):
        start = store.head_position()
        stream = uuid.uuid4()
        append(stream, 0, "A", "B", "C", "D", "E")
        page1 = store.read_all(after_position=start, limit=2)
        page2 = store.read_all(after_position=page1[-1][0], limit=10)
        assert [row[4] for row in page1 + page2] == ["A", "B", "C", "D", "E"]
        assert isinstance(page1[0], tuple) and page1[0][2] == stream
        assert store.head_position() == page2[-1][0]
        assert store.read_all(after_position=store.head_position()) == []


class TestAppendOnly:
    def test_model_refuses_update_and_delete(self):
        append(uuid.uuid4(), 0, "A")
        event = Event.objects.get()
        event.type = "Changed"
        with pytest.raises(AppendOnlyError):
            event.save()
        with pytest.raises(AppendOnlyError):
            event.delete()

    def test_queryset_refuses_bulk_update_and_delete(self):
        append(uuid.uuid4(), 0, "A")
        with pytest.raises(AppendOnlyError):
            Event.objects.update(type="Changed")
        with pytest.raises(AppendOnlyError):
            Event.objects.all().delete()
        with pytest.raises(AppendOnlyError):
            Event.objects.bulk_update(list(Event.objects.all()), ["type"])
        assert Event.objects.get().type == "A"

    @postgres_only
    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE eventlog_event SET type = 'Changed'",
            "DELETE FROM eventlog_event",
            "TRUNCATE eventlog_event",
            "TRUNCATE eventlog_event RESTART IDENTITY CASCADE",
        ],
    )
    def test_postgres_trigger_refuses_raw_sql(self, sql):
        append(uuid.uuid4(), 0, "A")
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connections["default"].cursor() as cursor,
        ):
            cursor.execute(sql)
        assert Event.objects.get().type == "A"
