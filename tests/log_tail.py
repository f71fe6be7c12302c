"""A reader that tails the event log by position, as a projector does."""

import threading

from eventlog import store


class LogTail:
    """Tail the log until `done` is set and nothing is left; record what it saw."""

    def __init__(self, page: int = 25) -> None:
        self.page = page
        self.done = threading.Event()
        self.seen: list[int] = []
        self.went_backwards: list[tuple[int, int]] = []

    def run(self) -> None:
        last = 0
        while True:
            finished = self.done.is_set()
            for row in store.read_all(after_position=last, limit=self.page):
                if row[0] <= last:
                    self.went_backwards.append((last, row[0]))
                self.seen.append(row[0])
                last = row[0]
            if finished and not store.read_all(after_position=last, limit=1):
                return
