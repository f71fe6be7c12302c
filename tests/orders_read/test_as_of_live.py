"""As-of answers equal what the live read model answered, recorded while commands flowed.

Writers in several threads send commands; each commit nudges the projections, which
catch up in the writers' threads (eager tasks), racing for the checkpoint locks. A
recorder thread meanwhile takes every checkpoint lock, so no projection moves while
it asks the live API, and keeps each answer with the position it was read at
(`X-Read-Position`). "The instant" of an answer is the recorded_at of the last event
it includes: that position's. Later, `as_of` that instant must give the same answer,
exactly, and name that position.
"""

import random
import threading
import time
from decimal import Decimal
from uuid import UUID

import pytest
from django.db import transaction

from eventlog.models import Event
from orders_read.models import Checkpoint
from orders_write import commands
from orders_write.domain.errors import DomainError
from tests.conftest import client_for, postgres_only

from .conftest import BOTH_DATABASES, catch_up, line, place, run
from .test_as_of import REPORT

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)]

CUSTOMERS = ("alice", "bob", "carol")
WRITERS, COMMANDS_EACH = 4, 30


def write(seed: int, placed: list[UUID]) -> None:
    """Send a random mix of commands; refusals (a rule, a lost race) are part of the mix."""
    rng = random.Random(seed)
    mine: list[tuple[UUID, str]] = []
    for n in range(COMMANDS_EACH):
        customer = rng.choice(CUSTOMERS)
        try:
            if not mine or rng.random() < 0.4:
                sku = f"S-{rng.randrange(5)}"
                order = place(customer, line(sku, rng.randint(1, 3), f"{rng.randint(1, 20)}.50"))
                mine.append((order, customer))
                placed.append(order)
                continue
            order, owner = rng.choice(mine)
            kind = rng.choice(["add", "change", "ship", "cancel"])
            if kind == "add":
                run(commands.AddItem(order, f"T-{seed}-{n}", 2, Decimal("3.25")), owner)
            elif kind == "change":
                run(commands.ChangeItemQuantity(order, f"T-{seed}-{n - 1}", 4), owner)
            elif kind == "ship":
                run(commands.ShipOrder(order, f"TRK-{n}"), "stella", staff=True)
            else:
                run(commands.CancelOrder(order, "test"), owner)
        except DomainError:
            pass


def record(client, placed: list[UUID], kept: list, writing: threading.Event) -> None:
    """Keep live answers, each with the position the read model was at, until writes end."""
    rng = random.Random(0)
    while writing.is_set():
        with transaction.atomic(using="read"):
            # Every runner takes its checkpoint's lock first: none moves while we read.
            list(Checkpoint.objects.using("read").select_for_update().order_by("name"))
            paths = [REPORT, f"/api/customers/{rng.choice(CUSTOMERS)}/"]
            if placed:
                paths.append(f"/api/orders/{rng.choice(placed)}/")
            for path in paths:
                response = client.get(path)
                kept.append(
                    (path, int(response["X-Read-Position"]), response.status_code, response.json())
                )
        time.sleep(0.005)


def test_as_of_answers_equal_the_live_answers_recorded_while_commands_flowed(
    eager, alice, bob, carol, staff, settings
):
    settings.ORDINAL_PROJECTION_SNAPSHOT_EVERY = 7
    settings.ORDINAL_PROJECTION_BATCH_SIZE = 5
    client = client_for(staff)
    placed: list[UUID] = []
    kept: list = []
    writing = threading.Event()
    writing.set()

    from django.db import connections

    def recorder_run():
        try:
            record(client, placed, kept, writing)
        finally:
            connections.close_all()

    def writer_run(seed):
        try:
            write(seed, placed)
        finally:
            connections.close_all()

    recorder = threading.Thread(target=recorder_run, daemon=True)
    writers = [threading.Thread(target=writer_run, args=(s,), daemon=True) for s in range(WRITERS)]
    recorder.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    writing.clear()
    recorder.join(60)
    assert not recorder.is_alive() and not any(t.is_alive() for t in writers)
    catch_up()

    recorded = [entry for entry in kept if entry[1] > 0]
    assert len({position for _, position, _, _ in recorded}) >= 5, "too few distinct instants"
    instants = dict(Event.objects.values_list("position", "recorded_at"))
    compared = 0
    for path, position, status, body in recorded:
        response = client.get(path, {"as_of": instants[position].isoformat()})
        assert (response.status_code, response.json()) == (status, body), (path, position)
        if status == 200 and not path.startswith("/api/orders/"):
            assert response["X-As-Of-Position"] == str(position)
        compared += 1
    assert compared == len(recorded)


def test_an_instant_a_moment_old_may_still_gain_an_append_in_flight(staff, no_nudge):
    """The README's caveat: an open append was recorded before now but commits after."""
    from django.db import connections
    from django.utils import timezone

    from eventlog import store

    client = client_for(staff)
    place("alice", line("A-1", 1, "1.00"))
    catch_up()
    before = store.head_position()
    appended, release = threading.Event(), threading.Event()

    def slow_order() -> None:
        try:
            with transaction.atomic(using="default"):
                place("bob", line("B-2", 1, "2.00"))
                appended.set()
                assert release.wait(30)
        finally:
            connections.close_all()

    writer = threading.Thread(target=slow_order, daemon=True)
    writer.start()
    assert appended.wait(30)
    instant = timezone.now()  # after bob's event was recorded, before it commits
    early = client.get(REPORT, {"as_of": instant.isoformat()})
    release.set()
    writer.join(30)
    late = client.get(REPORT, {"as_of": instant.isoformat()})
    assert early["X-As-Of-Position"] == str(before)
    assert int(late["X-As-Of-Position"]) > before
    assert [row["sku"] for row in late.json()] == ["A-1", "B-2"]
