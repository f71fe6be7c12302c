"""Snapshots change no answer: the same loads and API answers with every snapshot purged.

Also `manage.py snapshots` (a summary) and `manage.py snapshots --purge`.
"""

import contextlib
import random
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from eventlog.models import Event
from orders_write.domain.events import schema_versions
from orders_write.domain.model import Order
from orders_write.models import OrderSnapshot
from orders_write.repository import EventLogOrderRepository
from tests.orders_write.conftest import item, order_path, place, post
from tests.orders_write.test_snapshots import planted, state_of

pytestmark = pytest.mark.django_db(databases=["default", "read"])

EVERY = 3


@pytest.fixture(autouse=True)
def _snapshot_every_three(settings):
    settings.ORDINAL_SNAPSHOT_EVERY = EVERY


def busy_orders(alice_client, staff_client, rng: random.Random, count: int = 8) -> list[str]:
    """Orders of random lengths, changed through the API (some commands refused)."""
    order_ids = []
    for _ in range(count):
        order_id = place(alice_client)
        for _ in range(rng.randrange(0, 4 * EVERY)):
            sku = rng.choice(["A-1", "B-2", "C-3", "D-4"])
            action, body = rng.choice(
                [
                    ("add-item", item(sku, rng.randint(1, 5), "2.50")),
                    ("change-quantity", {"sku": sku, "quantity": rng.randint(1, 3)}),
                    ("remove-item", {"sku": sku}),
                ]
            )
            post(alice_client, order_path(order_id, action), body)
        final = rng.choice([None, None, "ship", "cancel"])
        if final:
            post(staff_client, order_path(order_id, final), {})
        order_ids.append(order_id)
    return order_ids


PROBE = [
    ("alice", "add-item", item("PROBE", 1, "1.00")),
    ("alice", "change-quantity", {"sku": "A-1", "quantity": 2}),
    ("alice", "remove-item", {"sku": "B-2"}),
    ("alice", "add-item", item("PROBE", 1, "1.00")),
    ("alice", "change-quantity", {"sku": "PROBE", "quantity": 7}),
    ("stella", "ship", {"tracking_number": "T-1"}),
    ("alice", "cancel", {}),
]


@contextlib.contextmanager
def rolled_back():
    """Run the block in a transaction that is rolled back: it leaves nothing behind."""
    with transaction.atomic(using="default"):
        yield
        transaction.set_rollback(True, using="default")


def answers(clients: dict, order_ids: list[str]) -> list:
    """Every order's history and what each probe command answers (then rolled back)."""
    seen = []
    for order_id in order_ids:
        history = clients["alice"].get(order_path(order_id, "history"))
        seen.append((history.status_code, history.json()))
        with rolled_back():
            for who, action, body in PROBE:
                response = post(clients[who], order_path(order_id, action), body)
                answer = response.json()
                answer.pop("position", None)  # rolled-back appends still use up positions
                seen.append((response.status_code, response.get("ETag"), answer))
    return seen


def loads(order_ids: list[str]) -> dict:
    orders = EventLogOrderRepository()
    return {order_id: state_of(orders.get(uuid.UUID(order_id))) for order_id in order_ids}


def test_deleting_every_snapshot_changes_no_load_and_no_answer(alice_client, staff_client):
    order_ids = busy_orders(alice_client, staff_client, random.Random(12))
    clients = {"alice": alice_client, "stella": staff_client}
    stored = dict(OrderSnapshot.objects.values_list("stream_id", "version"))
    heads = {uuid.UUID(i): Event.objects.filter(stream_id=i).count() for i in order_ids}
    # Snapshots of most orders, and some behind their head: loads apply later events.
    assert len(stored) >= len(order_ids) // 2
    assert any(version < heads[stream] for stream, version in stored.items())
    with_snapshots = (loads(order_ids), answers(clients, order_ids))
    assert {200, 409} <= {answer[0] for answer in with_snapshots[1]}  # the probe tries both

    call_command("snapshots", "--purge", stdout=StringIO())

    assert OrderSnapshot.objects.count() == 0
    assert (loads(order_ids), answers(clients, order_ids)) == with_snapshots


def test_the_command_counts_current_and_stale_snapshots(alice_client):
    for _ in range(3):
        order_id = place(alice_client)
        for n in range(EVERY - 1):
            post(alice_client, order_path(order_id, "add-item"), item(f"X-{n}"))
    planted(EventLogOrderRepository(), uuid.UUID(order_id), 1, schema_versions={"Old": 1})
    planted(EventLogOrderRepository(), uuid.uuid4(), 1, format=Order.SNAPSHOT_FORMAT + 1)
    out = StringIO()
    call_command("snapshots", stdout=out)
    assert out.getvalue().startswith("4 order snapshots: 2 current, 2 stale")


def test_purge_deletes_every_snapshot_and_no_event(alice_client):
    order_id = place(alice_client)
    for n in range(2 * EVERY):
        post(alice_client, order_path(order_id, "add-item"), item(f"X-{n}"))
    planted(EventLogOrderRepository(), uuid.uuid4(), 1, schema_versions=schema_versions())
    events = Event.objects.count()
    out = StringIO()
    call_command("snapshots", "--purge", stdout=out)
    assert out.getvalue() == "Deleted 2 order snapshots.\n"
    assert (OrderSnapshot.objects.count(), Event.objects.count()) == (0, events)
    out = StringIO()
    call_command("snapshots", stdout=out)
    assert out.getvalue().startswith("0 order snapshots: 0 current, 0 stale")
