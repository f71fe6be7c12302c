"""Which database a query reads: a streaming replica of the read database, or that database.

The query bus runs each query, its wait for `min_position` included, on one alias
(`reading_from`), so the checkpoint rows it checks are those of the database the answer
comes from: read-your-writes holds on a replica that lags. Outside a query `query_db()`
is the read database itself: projections, rebuilds, parking and the admin never read a
replica (they write, or must see their own writes).

The replicas take turns (round robin, per process). One that fails, by refusing a
connection or breaking one, is left alone for ORDINAL_READ_REPLICA_RETRY_SECONDS and the
query is asked again of the next replica, and last of the read database: the read
database is not behind its replicas (they replay it), so the answer is as fresh, and
`min_position` is checked against its own checkpoints just the same. That beats a 503
naming the replica: the client could only retry, and would get no better answer; the
price is load on the read database, and the warning logged names the replica.
"""

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections

PRIMARY = "read"

T = TypeVar("T")

logger = logging.getLogger(__name__)

_reading_from: ContextVar[str] = ContextVar("ordinal_query_db", default=PRIMARY)


def query_db() -> str:
    """Return the alias the read-model selectors read: the current query's, else "read"."""
    return _reading_from.get()


@contextlib.contextmanager
def reading_from(alias: str) -> Iterator[None]:
    """Make the selectors read `alias` inside the block (this thread or task only)."""
    token = _reading_from.set(alias)
    try:
        yield
    finally:
        _reading_from.reset(token)


class Replicas:
    """The read replicas of this process: whose turn it is, and which failed lately."""

    def __init__(self) -> None:
        self._turn = itertools.count()
        self._failed_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def candidates(self) -> list[str]:
        """Return the aliases to ask a query of, in order: the replicas not left alone,
        starting with the one whose turn it is, then the read database."""
        replicas = list(settings.ORDINAL_READ_REPLICAS)
        if not replicas:
            return [PRIMARY]
        now = time.monotonic()
        with self._lock:
            healthy = [a for a in replicas if self._failed_until.get(a, 0.0) <= now]
        if healthy:
            start = next(self._turn) % len(healthy)
            healthy = healthy[start:] + healthy[:start]
        return [*healthy, PRIMARY]

    def failed(self, alias: str, error: Exception) -> None:
        """Leave the replica alone for a while, and drop its connection (it may be broken)."""
        seconds = settings.ORDINAL_READ_REPLICA_RETRY_SECONDS
        with self._lock:
            self._failed_until[alias] = time.monotonic() + seconds
        with contextlib.suppress(DatabaseError):
            connections[alias].close()
        logger.warning(
            "Read replica %s failed (%s: %s); queries skip it for %s s",
            alias,
            type(error).__name__,
            str(error).strip().splitlines()[0] if str(error).strip() else "",
            seconds,
        )

    def left_alone(self) -> list[str]:
        """Return the replicas skipped at the moment, having failed lately."""
        now = time.monotonic()
        with self._lock:
            return sorted(a for a, until in self._failed_until.items() if until > now)

    def reset(self) -> None:
        """Forget every failure (tests, or an operator who knows a replica is back)."""
        with self._lock:
            self._failed_until.clear()


REPLICAS = Replicas()


def from_a_replica(run: Callable[[], T]) -> T:
    """Return `run()` (a whole query) as a replica answers it; should the replica fail,
    as the next one does, and last as the read database does.

    A replica's failure is an OperationalError or InterfaceError raised on its own
    connection: Django flags the connection an error was raised on (and clears the flag
    when it connects anew), which tells it apart from an error of the write database in
    the same query. Any other error is the query's own and is raised at once.
    """
    for alias in REPLICAS.candidates():
        if alias == PRIMARY:
            break
        connection = connections[alias]
        if connection.errors_occurred:  # an earlier failure's: the flag must mean this one
            with contextlib.suppress(DatabaseError):
                connection.close()
        try:
            with reading_from(alias):
                return run()
        except (OperationalError, InterfaceError) as error:
            if not connection.errors_occurred:
                raise
            REPLICAS.failed(alias, error)
    with reading_from(PRIMARY):
        return run()
