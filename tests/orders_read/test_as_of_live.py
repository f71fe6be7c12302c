"""As-of answers equal what the live read model answered, recorded while commands flowed.

Writers in several threads send commands; each commit nudges the projections, which
catch up in the writers' threads (eager tasks), racing for the checkpoint locks. A
recorder thread meanwhile takes every checkpoint lock, so no projection moves while
it asks the live API, and keeps each answer with the feed key its projection's
checkpoint was at. "The instant" of an answer is the recorded_at of that last event
applied. Later, `as_of` that instant must give the same answer, exactly, and name that
event's position, wherever the feed is cut cleanly there in recording order (every
event up to the key recorded at or before the instant, every later one after it): on
PostgreSQL, appends running at the same moment may be recorded a few microseconds out
of feed order (README, temporal queries), and a cut between them is not compared.
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


PROJECTION_OF = {REPORT: "product_sales", "/api/customers/": "customer_summary"}


def record(client, placed: list[UUID], kept: list, writing: threading.Event) -> None:
    """Keep live answers, each with the feed key its read model was at, until writes end."""
    rng = random.Random(0)
    while writing.is_set():
        with transaction.atomic(using="read"):
            # Every runner takes its checkpoint's lock first: none moves while we read.
            locked = Checkpoint.objects.using("read").select_for_update().order_by("name")
            keys = {c.name: c.key for c in locked}
            paths = [REPORT, f"/api/customers/{rng.choice(CUSTOMERS)}/"]
            if placed:
                paths.append(f"/api/orders/{rng.choice(placed)}/")
            for path in paths:
                response = client.get(path)
                name = next((n for p, n in PROJECTION_OF.items() if path.startswith(p)), None)
                key = keys.get(name or "order_view", (0, 0))
                kept.append((path, key, response.status_code, response.json()))
        time.sleep(0.005)


def clean_cuts() -> dict[tuple[int, int], object]:
    """Return {feed key: its recorded_at} of the keys where the feed is cut cleanly in
    recording order: every event up to it recorded at or before it, every later one after."""
    events = list(
        Event.objects.order_by("tx_id", "position").values_list("tx_id", "position", "recorded_at")
    )
    cuts, latest = {}, None
    for n, (tx_id, position, at) in enumerate(events):
        latest = at if latest is None else max(latest, at)
        later = [e[2] for e in events[n + 1 :]]
        if latest == at and all(other > at for other in later):
            cuts[(tx_id, position)] = at
    return cuts


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

    cuts = clean_cuts()
    recorded = [entry for entry in kept if entry[1] != (0, 0)]
    clean = [entry for entry in recorded if entry[1] in cuts]
    assert len({key for _, key, _, _ in clean}) >= 5, "too few distinct instants"
    assert len(clean) >= len(recorded) * 0.8, "the feed was rarely in recording order"
    for path, key, status, body in clean:
        response = client.get(path, {"as_of": cuts[key].isoformat()})
        assert (response.status_code, response.json()) == (status, body), (path, key)
        if status == 200 and not path.startswith("/api/orders/"):
            assert response["X-As-Of-Position"] == str(key[1])
    print(f"\n{len(clean)} of {len(recorded)} answers compared (clean cuts)")


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
