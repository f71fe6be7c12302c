"""One partition's feed: the events of its streams, in feed order; together, the whole feed."""

from uuid import uuid4

import pytest

from eventlog import store

pytestmark = pytest.mark.django_db(databases=["default"])


def append_events(streams: int = 40, versions: int = 3) -> list:
    ids = [uuid4() for _ in range(streams)]
    for version in range(versions):
        for stream_id in ids:
            store.append(
                stream_type="order",
                stream_id=stream_id,
                expected_version=version,
                events=[store.NewEvent("Noted", {"n": version})],
                metadata={},
            )
    return store.read_feed((0, 0), 10_000)


def read_whole_partition(partition: int, count: int, limit: int) -> list:
    found, after = [], (0, 0)
    while True:
        page = store.read_partition(after, limit, partition, count)
        found.extend(page.events)
        assert page.through >= after
        if page.events:
            assert page.through >= page.events[-1].feed_key
        after = page.through
        if page.complete:
            return found


@pytest.mark.parametrize("count", [1, 3, 4])
def test_the_partitions_split_the_feed_by_stream_without_loss_or_overlap(count):
    feed = append_events()
    parts = [read_whole_partition(p, count, limit=7) for p in range(count)]

    for partition, events in enumerate(parts):
        assert all(store.stream_partition(e.stream_id, count) == partition for e in events)
        keys = [e.feed_key for e in events]
        assert keys == sorted(keys)  # in feed order
    merged = sorted((e for events in parts for e in events), key=lambda e: e.feed_key)
    assert [e.position for e in merged] == [e.position for e in feed]


def test_a_complete_page_reaches_the_end_of_the_feed_past_other_partitions_events():
    feed = append_events(streams=8, versions=1)
    page = store.read_partition((0, 0), 1000, 0, 4)
    assert page.complete
    assert page.through == feed[-1].feed_key
    assert store.read_partition(page.through, 1000, 0, 4) == store.FeedPage([], page.through, True)


def test_a_page_stops_at_upto():
    feed = append_events(streams=8, versions=2)
    upto = feed[5].feed_key
    events = []
    for partition in range(2):
        page = store.read_partition((0, 0), 1000, partition, 2, upto=upto)
        assert (page.through, page.complete) == (upto, True)
        events.extend(page.events)
    assert sorted(e.position for e in events) == [e.position for e in feed[:6]]
