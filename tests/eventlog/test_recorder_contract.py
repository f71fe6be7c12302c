"""One contract for every event-log recorder, run against the recorder of each backend."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from eventlog.models import Event
from eventlog.recorders.base import ConcurrencyError, NewEvent, Recorder
from eventlog.recorders.postgresql import PostgreSQLRecorder
from eventlog.recorders.sqlite import SQLiteRecorder
from eventlog.store import WRITE_DB
from tests.conftest import on_postgres, postgres_only

pytestmark = pytest.mark.django_db(databases=["default", "read"])

sqlite_only = pytest.mark.skipif(
    on_postgres(), reason="needs SQLite: unset DATABASE_URL and READ_DATABASE_URL"
)

META = {"actor": "test", "correlation_id": "c-1"}

# What a JSON round trip must give back exactly, on every backend.
DOCUMENT = {
    "order": {"lines": [{"sku": "MUG-01", "quantity": 2, "unit_price": "9.50"}], "total": "0.10"},
    "address": {"name": "Zoë Müller", "city": "東京", "note": '📦 "fragile" \\ back\n\ttab\u2028'},
    "flags": [True, False, None],
    "numbers": [0, -1, 2**63 - 1, -(2**63), 0.1, 1.5e-7, 12.0],
    "empty": {"list": [], "dict": {}, "text": ""},
}


def new_events(*types: str, data: dict | None = None) -> list[NewEvent]:
    return [NewEvent(t, {"n": i} if data is None else data) for i, t in enumerate(types)]


class RecorderContract:
    """The behaviour every recorder promises; one subclass per backend runs it."""

    recorder_class: type[Recorder]

    @pytest.fixture
    def recorder(self) -> Recorder:
        return self.recorder_class(WRITE_DB)

    @staticmethod
    def append(recorder, stream, expected_version, *types, data=None, metadata=META):
        return recorder.append(
            stream_type="order",
            stream_id=stream,
            expected_version=expected_version,
            events=new_events(*types, data=data),
            metadata=metadata,
        )

    def test_append_returns_what_both_reads_give_back(self, recorder):
        start, stream = recorder.head_position(), uuid.uuid4()
        appended = self.append(recorder, stream, 0, "A", "B")
        assert [(e.stream_type, e.stream_id, e.type) for e in appended] == [
            ("order", stream, "A"),
            ("order", stream, "B"),
        ]
        assert appended[0].metadata == META and appended[0].recorded_at.tzinfo is not None
        assert recorder.read_stream(stream) == appended
        assert recorder.read_all(after_position=start) == appended

    def test_each_events_schema_version_is_stored_and_read_back_on_every_path(self, recorder):
        start, stream = recorder.head_position(), uuid.uuid4()
        events = [NewEvent("A", {"n": 1}), NewEvent("B", {"n": 2}, schema_version=3)]
        appended = recorder.append(
            stream_type="order", stream_id=stream, expected_version=0, events=events
        )
        assert [e.schema_version for e in appended] == [1, 3]
        assert [e.schema_version for e in recorder.read_stream(stream)] == [1, 3]
        for metadata in (True, False):  # the fast page read too
            read = recorder.read_all(after_position=start, metadata=metadata)
            assert [e.schema_version for e in read] == [1, 3]
        stored = Event.objects.using(WRITE_DB).filter(stream_id=stream).order_by("version")
        assert list(stored.values_list("schema_version", flat=True)) == [1, 3]

    def test_versions_run_from_one_without_holes(self, recorder):
        stream = uuid.uuid4()
        self.append(recorder, stream, 0, "A")
        self.append(recorder, stream, 1, "B", "C", "D")
        self.append(recorder, stream, 4, "E")
        assert [e.version for e in recorder.read_stream(stream)] == [1, 2, 3, 4, 5]

    def test_positions_increase_in_append_order_across_streams(self, recorder):
        start, first, second = recorder.head_position(), uuid.uuid4(), uuid.uuid4()
        appended = [
            *self.append(recorder, first, 0, "A"),
            *self.append(recorder, second, 0, "X", "Y"),
            *self.append(recorder, first, 1, "B"),
        ]
        positions = [e.position for e in appended]
        assert positions == sorted(positions) and len(set(positions)) == 4
        assert positions[0] > start
        assert [e.type for e in recorder.read_all(after_position=start)] == ["A", "X", "Y", "B"]

    def test_wrong_expected_version_raises_and_writes_nothing(self, recorder):
        stream = uuid.uuid4()
        self.append(recorder, stream, 0, "A")
        head = recorder.head_position()
        for wrong in (0, 2, 7):
            with pytest.raises(ConcurrencyError) as raised:
                self.append(recorder, stream, wrong, "B", "C")
            assert (raised.value.stream_id, raised.value.expected) == (stream, wrong)
            assert raised.value.actual == 1
        assert [e.type for e in recorder.read_stream(stream)] == ["A"]
        assert recorder.head_position() == head

    def test_a_new_stream_must_be_expected_at_version_zero(self, recorder):
        stream = uuid.uuid4()
        with pytest.raises(ConcurrencyError) as raised:
            self.append(recorder, stream, 1, "A")
        assert raised.value.actual == 0
        assert recorder.read_stream(stream) == []

    def test_a_refused_append_leaves_the_callers_transaction_usable(self, recorder):
        before, conflicted, after = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.append(recorder, conflicted, 0, "A")
        with transaction.atomic(using=WRITE_DB):
            self.append(recorder, before, 0, "Before")
            with pytest.raises(ConcurrencyError):
                self.append(recorder, conflicted, 0, "Refused")
            self.append(recorder, after, 0, "After")
        assert [e.type for e in recorder.read_stream(before)] == ["Before"]
        assert [e.type for e in recorder.read_stream(conflicted)] == ["A"]
        assert [e.type for e in recorder.read_stream(after)] == ["After"]

    def test_needs_at_least_one_event(self, recorder):
        with pytest.raises(ValueError, match="at least one event"):
            recorder.append(
                stream_type="order", stream_id=uuid.uuid4(), expected_version=0, events=[]
            )

    def test_read_all_pages_by_position(self, recorder):
        start = recorder.head_position()
        self.append(recorder, uuid.uuid4(), 0, "A", "B", "C")
        self.append(recorder, uuid.uuid4(), 0, "D", "E")
        pages, after = [], start
        while page := recorder.read_all(after_position=after, limit=2):
            pages.append([e.type for e in page])
            after = page[-1].position
        assert pages == [["A", "B"], ["C", "D"], ["E"]]
        assert after == recorder.head_position()
        assert recorder.read_all(after_position=start, limit=1)[0].type == "A"

    def test_read_all_without_metadata_gives_none_there(self, recorder):
        start = recorder.head_position()
        appended = self.append(recorder, uuid.uuid4(), 0, "A", "B")
        plain = recorder.read_all(after_position=start, metadata=False)
        assert [e.metadata for e in plain] == [None, None]
        assert [e._replace(metadata=META) for e in plain] == appended

    def test_metadata_defaults_to_an_empty_object(self, recorder):
        stream = uuid.uuid4()
        self.append(recorder, stream, 0, "A", metadata=None)
        assert recorder.read_stream(stream)[0].metadata == {}

    def test_head_position_is_zero_on_an_empty_log_then_the_last_position(self, recorder):
        assert recorder.read_all() == []
        assert recorder.head_position() == 0
        self.append(recorder, uuid.uuid4(), 0, "A")
        last = self.append(recorder, uuid.uuid4(), 0, "B", "C")[-1]
        assert recorder.head_position() == last.position

    def test_read_stream_returns_only_that_stream_in_version_order(self, recorder):
        mine, other = uuid.uuid4(), uuid.uuid4()
        self.append(recorder, mine, 0, "A")
        self.append(recorder, other, 0, "X")
        self.append(recorder, mine, 1, "B", "C")
        assert [(e.version, e.type) for e in recorder.read_stream(mine)] == [
            (1, "A"),
            (2, "B"),
            (3, "C"),
        ]
        assert recorder.read_stream(uuid.uuid4()) == []

    def test_read_stream_after_a_version_returns_only_the_later_events(self, recorder):
        mine, other = uuid.uuid4(), uuid.uuid4()
        self.append(recorder, mine, 0, "A", "B")
        self.append(recorder, other, 0, "X", "Y", "Z")
        self.append(recorder, mine, 2, "C")
        assert [e.type for e in recorder.read_stream(mine, after_version=1)] == ["B", "C"]
        assert recorder.read_stream(mine, after_version=3) == []
        assert recorder.read_stream(mine, after_version=0) == recorder.read_stream(mine)

    def test_json_data_and_metadata_round_trip_exactly(self, recorder):
        start, stream = recorder.head_position(), uuid.uuid4()
        self.append(recorder, stream, 0, "A", data=DOCUMENT, metadata={"doc": DOCUMENT})
        for read in (recorder.read_stream(stream), recorder.read_all(after_position=start)):
            assert read[0].data == DOCUMENT
            assert read[0].metadata == {"doc": DOCUMENT}
            numbers = read[0].data["numbers"]
            assert [type(n) for n in numbers] == [int] * 4 + [float] * 3

    def test_decimals_are_recorded_as_strings_not_floats(self, recorder):
        stream = uuid.uuid4()
        self.append(recorder, stream, 0, "A", data={"price": Decimal("19.00")})
        assert recorder.read_stream(stream)[0].data == {"price": "19.00"}
        assert recorder.read_all(recorder.head_position() - 1)[0].data == {"price": "19.00"}

    def test_an_append_shares_one_instant_and_reads_it_back(self, recorder):
        stream = uuid.uuid4()
        appended = self.append(recorder, stream, 0, "A", "B", "C")
        assert len({e.recorded_at for e in appended}) == 1
        assert [e.recorded_at for e in recorder.read_stream(stream)] == [
            e.recorded_at for e in appended
        ]

    def test_an_append_is_never_recorded_before_the_last_recorded_event(self, recorder):
        """Position order and recorded_at order agree, even past a clock that stepped back."""
        ahead = timezone.now() + timedelta(hours=1)
        Event.objects.create(
            stream_type="order",
            stream_id=uuid.uuid4(),
            version=1,
            type="Ahead",
            data={},
            recorded_at=ahead,
        )
        appended = self.append(recorder, uuid.uuid4(), 0, "A")
        assert appended[0].recorded_at == ahead
        events = recorder.read_all(limit=100)
        assert [e.recorded_at for e in events] == sorted(e.recorded_at for e in events)

    @pytest.mark.parametrize(
        ("data", "metadata"),
        [
            ({"n": 2**63}, META),
            ({"lines": [{"quantity": -(2**63) - 1}]}, META),
            ({"n": 1}, {"actor": "test", "n": 10**30}),
        ],
    )
    def test_an_integer_beyond_64_bits_is_refused_and_nothing_written(
        self, recorder, data, metadata
    ):
        stream, head = uuid.uuid4(), recorder.head_position()
        with pytest.raises(ValueError, match="64 bits"):
            self.append(recorder, stream, 0, "A", data=data, metadata=metadata)
        assert recorder.read_stream(stream) == []
        assert recorder.head_position() == head


@sqlite_only
class TestSQLiteRecorder(RecorderContract):
    recorder_class = SQLiteRecorder


@postgres_only
class TestPostgreSQLRecorder(RecorderContract):
    recorder_class = PostgreSQLRecorder
