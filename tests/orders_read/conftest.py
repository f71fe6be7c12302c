"""Helpers and fixtures for the read side: commands to make events, catch-ups, snapshots."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from django.utils import timezone

from config.bootstrap import command_bus
from eventlog.recorders.postgresql import PostgreSQLRecorder
from orders_read import runner
from orders_read.models import Checkpoint
from orders_read.projectors import PROJECTORS
from orders_write import commands
from orders_write.domain.values import Line
from tests.threads import run_in_threads

BOTH_DATABASES = ["default", "read"]
# Every projection's read model: a new projection is compared by the rebuild tests too.
READ_MODELS = tuple(projector.model for projector in PROJECTORS.values())


def run(command: commands.Command, actor: str = "alice", *, staff: bool = False):
    """Dispatch a command as `actor` and return its CommandResult."""
    context = commands.Context(actor=commands.Actor(actor, staff))
    return command_bus().dispatch(command, context)


def line(sku: str, quantity: int = 1, price: str = "1.00") -> Line:
    return Line(sku, quantity, Decimal(price))


def place(customer: str = "alice", *items: Line, currency: str = "EUR", **extra) -> UUID:
    """Place an order for `customer` (acting as them) and return its id."""
    order_id = uuid4()
    run(
        commands.PlaceOrder(
            order_id=order_id,
            customer_id=customer,
            currency=currency,
            items=items or (line("A-1", 2, "10.00"),),
            **extra,
        ),
        customer,
    )
    return order_id


def catch_up(batch_size: int | None = None, *, force: bool = True) -> dict[str, int]:
    """Run every projection up to the head; return how many events each applied."""
    return {
        name: runner.projection_catch_up(name, batch_size=batch_size, force=force)
        for name in runner.projection_names()
    }


def snapshot() -> dict[str, list[dict]]:
    """Return every read-model row, by model, in primary-key order."""
    return {
        model.__name__: list(model.objects.using("read").order_by("pk").values())
        for model in READ_MODELS
    }


def positions() -> dict[str, int]:
    return dict(Checkpoint.objects.using("read").values_list("name", "position"))


def in_threads(count: int, target) -> list:
    """Run target(n) in `count` threads that start together; return results (or errors)."""
    return run_in_threads(count, target, timeout=120)


@pytest.fixture
def no_nudge(monkeypatch):
    """Commands enqueue no catch-up: the test decides when projections run."""
    monkeypatch.setattr("config.bootstrap.enqueue_catch_up", lambda position: None)


@pytest.fixture
def short_wait(settings):
    settings.ORDINAL_READ_WAIT_SECONDS = 0.3


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def days_ago(monkeypatch) -> Callable[[int], AbstractContextManager[datetime]]:
    """Return `days_ago(n)`: a context in which the log records events n days back.

    It yields the instant recorded. The log never records an event before the last
    one, so go oldest first. On PostgreSQL the log's clock is the database's: it is set
    back here too.
    """
    real_now, real_clock = timezone.now, PostgreSQLRecorder._clock

    @contextmanager
    def back(days: int) -> Iterator[datetime]:
        moment = real_now() - timedelta(days=days)

        def clock(self, connection, table):
            return f"(SELECT GREATEST(%s::timestamptz, MAX(recorded_at)) FROM {table})", [moment]

        monkeypatch.setattr(timezone, "now", lambda: moment)
        monkeypatch.setattr(PostgreSQLRecorder, "_clock", clock)
        try:
            yield moment
        finally:
            monkeypatch.setattr(timezone, "now", real_now)
            monkeypatch.setattr(PostgreSQLRecorder, "_clock", real_clock)

    return back
