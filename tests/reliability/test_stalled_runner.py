"""Invariant 4 with a stalled runner: the next one waits, or a stale commit is refused."""

import threading
import time

import pytest
from django.db import connections

from eventlog import store
from eventlog.models import Event
from orders_read import rebuilds, runner
from orders_read.models import Checkpoint, ProductSales
from tests.conftest import on_postgres, postgres_only
from tests.orders_read.conftest import line, place

from .conftest import BOTH_DATABASES, WAIT, positions, snapshot, waiting_on_a_lock

NAME = "product_sales"
ORDERS = 12

pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)


class Stall:
    """Make the first batch the named thread applies wait until released."""

    def __init__(self, monkeypatch, thread_name: str) -> None:
        self.taken, self.release = threading.Event(), threading.Event()
        projector = runner.PROJECTORS[NAME]
        original = projector.apply

        def apply(this, rows, **options):
            if threading.current_thread().name == thread_name and not self.taken.is_set():
                self.taken.set()  # the batch is read, the transaction open
                assert self.release.wait(WAIT)
            return original(this, rows, **options)

        monkeypatch.setattr(projector, "apply", apply)


def run_in_thread(name: str, results: dict) -> threading.Thread:
    def body() -> None:
        try:
            results[name] = runner.projection_catch_up(NAME)
        except Exception as exc:  # asserted by the test
            results[name] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread


def orders() -> None:
    for n in range(ORDERS):
        place(f"c{n % 3}", line("A-1", 1, "2.00"))


def assert_same_as_a_replay() -> None:
    """The incrementally built read model is what a replay of the whole log builds."""
    built = snapshot()["ProductSales"]
    rebuilds.projections_rebuild([NAME])
    assert snapshot()["ProductSales"] == built


def test_a_second_runner_waits_for_a_stalled_one_and_applies_nothing_twice(monkeypatch, no_nudge):
    orders()
    stall = Stall(monkeypatch, "stalled")
    results: dict = {}
    stalled = run_in_thread("stalled", results)
    assert stall.taken.wait(WAIT)
    second = run_in_thread("second", results)
    if on_postgres():
        deadline = time.monotonic() + WAIT
        while not waiting_on_a_lock():  # the second runner is queued on the checkpoint row
            assert time.monotonic() < deadline, "the second runner never waited for the lock"
            time.sleep(0.02)
    else:
        second.join(0.5)  # SQLite: the read DB's IMMEDIATE transaction serialises them
    assert second.is_alive(), "the second runner ran while the first held the checkpoint"
    assert positions()[NAME] == 0
    stall.release.set()
    stalled.join(WAIT)
    second.join(WAIT)

    events = Event.objects.count()
    assert results == {"stalled": events, "second": 0}, "an event was applied twice"
    assert positions()[NAME] == store.head_position()
    assert ProductSales.objects.using("read").get(sku="A-1").units_sold == ORDERS
    assert_same_as_a_replay()


@postgres_only
def test_a_runner_that_lost_its_lock_cannot_commit_stale_work(monkeypatch, no_nudge):
    """Simulate a lost lock (a stalled runner read the checkpoint without holding it).

    Another runner catches up meanwhile; when the stalled one resumes, its compare-and-set
    finds the checkpoint moved and StaleCheckpoint rolls its whole batch back.
    """
    orders()
    locking = runner.checkpoint_lock

    def lock(name: str, **how) -> Checkpoint:
        if threading.current_thread().name == "stalled":
            return Checkpoint.objects.using("read").get(name=name)  # no lock held
        return locking(name, **how)

    monkeypatch.setattr(runner, "checkpoint_lock", lock)
    stall = Stall(monkeypatch, "stalled")
    results: dict = {}
    stalled = run_in_thread("stalled", results)
    assert stall.taken.wait(WAIT)
    run_in_thread("second", results).join(WAIT)
    events = Event.objects.count()
    assert results == {"second": events}
    assert positions()[NAME] == store.head_position()

    stall.release.set()
    stalled.join(WAIT)

    assert isinstance(results["stalled"], runner.StaleCheckpoint), results
    assert positions()[NAME] == store.head_position()
    assert ProductSales.objects.using("read").get(sku="A-1").units_sold == ORDERS
    assert_same_as_a_replay()
