"""A transaction held open for 10 s only delays the projections: they resume, miss nothing.

Without a global append lock, other commands commit while it is open; the feed keeps
their events back until it ends (DESIGN §14), and the admin names the backend that
holds them.
"""

import threading
import time

import pytest
from django.db import connections, transaction

from eventlog import store
from orders_read import runner
from orders_read.models import OrderView
from orders_write import commands
from tests.conftest import postgres_only
from tests.orders_read.conftest import line, place, run

from .conftest import BOTH_DATABASES, WAIT, positions, rebuilt, snapshot

pytestmark = [pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES), postgres_only]

HELD_SECONDS = 10
PROJECTIONS = "/admin/orders_read/checkpoint/"


def catch_up_all() -> None:
    for name in runner.projection_names():
        runner.projection_catch_up(name, force=True)


def test_a_long_transaction_delays_the_projections_and_nothing_is_missed(no_nudge, client, staff):
    client.force_login(staff)
    place("c0")
    catch_up_all()
    opened, pid, slow_order = threading.Event(), [], []

    def long_command() -> None:
        try:
            with transaction.atomic(using="default"):
                slow_order.append(place("slow", line("S")))
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pid.append(cursor.fetchone()[0])
                opened.set()
                time.sleep(HELD_SECONDS)
        finally:
            connections.close_all()

    holder = threading.Thread(target=long_command, daemon=True)
    holder.start()
    assert opened.wait(WAIT)
    started = time.monotonic()
    later, applied_meanwhile = [], []
    # Commands go on committing (no global lock), and the projections keep running.
    while time.monotonic() - started < HELD_SECONDS - 2:
        later.append(place("fast", line("F")))
        catch_up_all()
        applied_meanwhile.append(OrderView.objects.using("read").filter(order_id__in=later).count())
        time.sleep(0.5)
    console = client.get(PROJECTIONS).content.decode()
    holder.join(WAIT)
    catch_up_all()

    assert len(later) >= 10, "commands waited for the open transaction"
    assert set(applied_meanwhile) == {0}, "an event behind the open transaction was applied"
    assert 'id="horizon-held"' in console and f"<strong>{pid[0]}</strong>" in console
    assert set(positions().values()) == {store.head_position()}
    projected = OrderView.objects.using("read").filter(order_id__in=[*later, *slow_order])
    assert projected.count() == len(later) + 1
    assert snapshot() == rebuilt()  # each applied once, nothing doubled or missed
    console = client.get(PROJECTIONS).content.decode()
    assert 'id="horizon-held"' not in console


def test_a_rolled_back_long_transaction_leaves_nothing_behind(no_nudge):
    opened, release = threading.Event(), threading.Event()

    def doomed() -> None:
        try:
            with pytest.raises(RuntimeError), transaction.atomic(using="default"):
                place("ghost")
                opened.set()
                release.wait(WAIT)
                raise RuntimeError("roll back")
        finally:
            connections.close_all()

    thread = threading.Thread(target=doomed, daemon=True)
    thread.start()
    assert opened.wait(WAIT)
    after = place("c1")
    catch_up_all()
    assert not OrderView.objects.using("read").filter(order_id=after).exists()
    release.set()
    thread.join(WAIT)
    catch_up_all()
    assert OrderView.objects.using("read").filter(order_id=after).exists()
    assert not OrderView.objects.using("read").filter(customer_id="ghost").exists()
    assert run(commands.ShipOrder(after), "stella", staff=True).version == 2
