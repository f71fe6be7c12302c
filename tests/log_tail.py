"""A reader that tails the projections' feed of the event log, as a projector does."""

import threading

from eventlog import store


class LogTail:
    """Tail the feed until `done` is set and nothing is left; record what it saw.

    `seen` holds the events in the order read; `went_backwards` every (last key, key)
    pair where the feed handed out a key at or below one already passed.
    """

    def __init__(self, page: int = 25) -> None:
        self.page = page
        self.done = threading.Event()
        self.seen: list[store.RecordedEvent] = []
        self.went_backwards: list[tuple[tuple[int, int], tuple[int, int]]] = []

    @property
    def positions(self) -> list[int]:
        return [event.position for event in self.seen]

    def run(self) -> None:
        last = (0, 0)
        while True:
            finished = self.done.is_set()
            for event in store.read_feed(last, self.page):
                if event.feed_key <= last:
                    self.went_backwards.append((last, event.feed_key))
                self.seen.append(event)
                last = event.feed_key
            if finished and not store.read_feed(last, 1):
                return


def committed_in_feed_order() -> list[store.RecordedEvent]:
    """Every committed event, in feed order (what a reader must have seen in the end)."""
    found: list[store.RecordedEvent] = []
    last = (0, 0)
    while page := store.read_keys(last, (2**63 - 1, 2**63 - 1), 1000):
        found.extend(page)
        last = page[-1].feed_key
    return found


def versions_by_stream(events: list[store.RecordedEvent]) -> dict:
    """Each stream's versions, in the order the events come."""
    streams: dict = {}
    for event in events:
        streams.setdefault(event.stream_id, []).append(event.version)
    return streams
