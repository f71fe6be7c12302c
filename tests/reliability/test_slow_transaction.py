"""Invariant 3 with a slow writer: the projector waits for an open append, passes holes."""

import threading
import uuid

import pytest
from django.db import connections, transaction

from eventlog import store
from orders_read import runner
from orders_read.models import OrderView
from orders_write import commands
from tests.orders_read.conftest import line, place, run

from .conftest import BOTH_DATABASES, WAIT, positions, rebuilt, snapshot

pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)


def catch_up_all() -> None:
    for name in runner.projection_names():
        runner.projection_catch_up(name, force=True)


def in_thread(target, *args) -> threading.Thread:
    def body() -> None:
        try:
            target(*args)
        finally:
            connections.close_all()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def test_the_projector_waits_for_an_open_append_and_applies_it_once_committed(no_nudge):
    before = [place("c0") for _ in range(3)]
    slow_order = uuid.uuid4()
    appended, release = threading.Event(), threading.Event()
    slow_position: list[int] = []

    def slow_command() -> None:
        with transaction.atomic(using="default"):
            result = run(
                commands.PlaceOrder(
                    order_id=slow_order, customer_id="slow", currency="EUR", items=(line("S"),)
                ),
                "slow",
            )
            slow_position.append(result.position)
            appended.set()
            release.wait(WAIT)  # the transaction stays open, its position taken

    slow = in_thread(slow_command)
    assert appended.wait(WAIT)
    # Other commands start while it is open (with design (a) they queue behind it).
    others = [in_thread(place, f"c{n}") for n in range(1, 4)]
    catch_up_all()
    during = positions()
    assert max(during.values()) < slow_position[0], "the projector passed an open append"
    assert not OrderView.objects.using("read").filter(order_id=slow_order).exists()
    assert OrderView.objects.using("read").filter(order_id__in=before).count() == 3

    release.set()
    slow.join(WAIT)
    for thread in others:
        thread.join(WAIT)
    catch_up_all()

    head = store.head_position()
    assert set(positions().values()) == {head}
    assert OrderView.objects.using("read").filter(order_id=slow_order).count() == 1
    assert OrderView.objects.using("read").count() == 7
    assert snapshot() == rebuilt()  # applied exactly once: nothing doubled


def test_rolled_back_appends_leave_no_stall(no_nudge):
    place("c0")
    for _ in range(3):  # each rolls back after taking a position: holes on PostgreSQL
        with pytest.raises(RuntimeError), transaction.atomic(using="default"):
            place("ghost")
            raise RuntimeError("roll back")
    last = place("c1")
    catch_up_all()

    head = store.head_position()
    assert set(positions().values()) == {head}, "the projector stalled at a hole"
    assert OrderView.objects.using("read").filter(customer_id="ghost").count() == 0
    assert OrderView.objects.using("read").filter(order_id=last).exists()
    assert snapshot() == rebuilt()
