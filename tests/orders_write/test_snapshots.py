"""Order snapshots in the repository: when they are written, when they are used or ignored.

One contract for the in-memory repository (no database) and the event-log one (the
write database's snapshot table), as in test_repository.py. A planted snapshot
carries a state the log never had, so a test can tell whether a load used it.
"""

import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.db.models import JSONField, Value
from django.utils.timezone import now

from orders_write import commands
from orders_write.domain.errors import OrderNotPlaced
from orders_write.domain.events import schema_versions
from orders_write.domain.model import Order
from orders_write.domain.values import Line
from orders_write.models import OrderSnapshot
from orders_write.repository import EventLogOrderRepository, InMemoryOrderRepository
from orders_write.snapshots import InMemorySnapshots, StoredSnapshot, schema_stamp
from tests.orders_write.test_repository import ALICE, COMMAND, placed
from tests.orders_write.test_snapshot_domain import state_of

EVERY = 3
ROOT = Path(__file__).resolve().parents[2]


def grown(orders, versions: int) -> uuid.UUID:
    """Save an order whose stream has `versions` events, one command per append."""
    order = placed()
    orders.add(order, ALICE, COMMAND)
    order_id = uuid.UUID(order.id)
    for n in range(versions - 1):
        order = orders.get(order_id)
        order.change_quantity("A-1", 3 + n % 2)
        orders.add(order, ALICE, COMMAND)
    return order_id


def replayed(orders, order_id: uuid.UUID) -> Order:
    """The order folded from every event of its stream, no snapshot involved."""
    return EventLogOrderRepository(orders.log, orders.snapshots, snapshot_every=0).get(order_id)


def planted(orders, order_id, version: int, **changes) -> None:
    """Put a snapshot of a state the log never had (shipped, tracking "PLANTED") in the store.

    Straight into the store's rows, past its move-forward rule, as damage or an old
    deploy would leave it.
    """
    fake = Order(str(order_id))
    fake.place("mallory", "JPY", [placed().lines["A-1"]])
    fake.ship("PLANTED")
    row = {
        "version": version,
        "state": fake.snapshot(),
        "schema_versions": schema_versions(),
        "format": Order.SNAPSHOT_FORMAT,
        **changes,
    }
    if isinstance(orders.snapshots, InMemorySnapshots):
        orders.snapshots.rows[order_id] = StoredSnapshot(stream_id=order_id, **row)
    else:
        stamp = schema_stamp(row["schema_versions"])
        # JSON null, not SQL NULL (the columns refuse that).
        row = {k: Value(None, JSONField()) if v is None else v for k, v in row.items()}
        OrderSnapshot.objects.update_or_create(
            stream_id=order_id, defaults={**row, "schema_stamp": stamp, "created_at": now()}
        )


class SnapshotContract:
    @pytest.fixture
    def orders(self):
        raise NotImplementedError

    def test_a_snapshot_is_written_when_an_append_crosses_a_multiple(self, orders):
        order_id = grown(orders, EVERY - 1)
        assert orders.snapshots.get(order_id) is None
        order = orders.get(order_id)
        order.change_quantity("A-1", 9)
        orders.add(order, ALICE, COMMAND)
        stored = orders.snapshots.get(order_id)
        assert (stored.version, stored.state) == (EVERY, order.snapshot())
        assert (stored.schema_versions, stored.format) == (schema_versions(), Order.SNAPSHOT_FORMAT)

    def test_no_snapshot_between_multiples_then_one_at_the_version_an_append_ends(self, orders):
        order_id = grown(orders, EVERY + 2)
        assert orders.snapshots.get(order_id).version == EVERY
        order = orders.get(order_id)  # version 5: two events take it past 6, to 7
        order.add_item("B-2", 1, Decimal("1.00"))
        order.change_quantity("B-2", 2)
        orders.add(order, ALICE, COMMAND)
        stored = orders.snapshots.get(order_id)
        assert (stored.version, stored.state) == (2 * EVERY + 1, order.snapshot())

    def test_a_load_starts_from_the_snapshot_and_applies_the_later_events(self, orders):
        order_id = grown(orders, 4)
        planted(orders, order_id, 2, state={**orders.get(order_id).snapshot(), "status": "x"})
        assert orders.get(order_id).status == replayed(orders, order_id).status  # unreadable
        planted(orders, order_id, 2)
        order = orders.get(order_id)
        # The planted state, then events 3 and 4 (quantity changes) on top of it.
        assert (order.version, order.customer_id, order.tracking_number) == (
            4,
            "mallory",
            "PLANTED",
        )
        assert order.lines["A-1"].quantity == replayed(orders, order_id).lines["A-1"].quantity

    def test_loading_with_a_snapshot_gives_what_replaying_every_event_gives(self, orders):
        order_id = grown(orders, 3 * EVERY + 1)
        assert orders.snapshots.get(order_id).version == 3 * EVERY
        assert state_of(orders.get(order_id)) == state_of(replayed(orders, order_id))

    @pytest.mark.parametrize(
        "stamp",
        [
            {**schema_versions(), "OrderPlaced": 99},
            {**schema_versions(), "OrderRefunded": 1},
            {name: v for name, v in schema_versions().items() if name != "OrderShipped"},
            {},
            None,
        ],
    )
    def test_a_snapshot_stamped_with_other_schema_versions_is_ignored(self, orders, stamp):
        order_id = grown(orders, 2)
        planted(orders, order_id, 2, schema_versions=stamp)
        order = orders.get(order_id)
        assert order.tracking_number == ""
        assert state_of(order) == state_of(replayed(orders, order_id))

    @pytest.mark.parametrize("fmt", [0, Order.SNAPSHOT_FORMAT + 1, 999])
    def test_a_snapshot_of_another_format_is_ignored(self, orders, fmt):
        order_id = grown(orders, 2)
        planted(orders, order_id, 2, format=fmt)
        assert state_of(orders.get(order_id)) == state_of(replayed(orders, order_id))

    @pytest.mark.parametrize(
        "state", [None, "garbage", {"customer_id": "mallory"}, {"lines": [1, 2]}, [1]]
    )
    def test_a_corrupt_snapshot_is_ignored(self, orders, state):
        order_id = grown(orders, 2)
        planted(orders, order_id, 2, state=state)
        assert state_of(orders.get(order_id)) == state_of(replayed(orders, order_id))

    def test_a_snapshot_past_the_end_of_its_stream_is_ignored(self, orders):
        order_id = grown(orders, 2)
        planted(orders, order_id, 3)
        assert state_of(orders.get(order_id)) == state_of(replayed(orders, order_id))
        nothing = uuid.uuid4()
        planted(orders, nothing, 1)  # a snapshot of a stream with no events at all
        assert orders.get(nothing) is None

    def test_a_snapshot_the_later_events_do_not_fit_is_ignored(self, orders):
        order = placed()
        order.add_item("B-2", 1, Decimal("1.00"))
        orders.add(order, ALICE, COMMAND)
        order.remove_item("B-2")
        orders.add(order, ALICE, COMMAND)
        order_id = uuid.UUID(order.id)
        planted(orders, order_id, 2)  # no B-2 in it for event 3 to remove
        assert state_of(orders.get(order_id)) == state_of(replayed(orders, order_id))

    def test_the_next_snapshot_replaces_an_ignored_one_even_at_a_higher_version(self, orders):
        order_id = grown(orders, EVERY - 1)
        planted(orders, order_id, 50, schema_versions={"OrderPlaced": 0})
        order = orders.get(order_id)
        order.change_quantity("A-1", 9)
        orders.add(order, ALICE, COMMAND)
        stored = orders.snapshots.get(order_id)
        assert (stored.version, stored.state) == (EVERY, order.snapshot())

    def test_a_snapshot_only_moves_forward(self, orders):
        order_id = grown(orders, 2 * EVERY)
        newest = orders.snapshots.get(order_id)
        older = Order.from_events(order_id, [])  # any state: it must not get in
        orders.snapshots.save(
            StoredSnapshot(order_id, EVERY, older.snapshot(), schema_versions(), newest.format)
        )
        assert orders.snapshots.get(order_id) == newest
        assert state_of(orders.get(order_id)) == state_of(replayed(orders, order_id))

    def test_zero_turns_snapshots_off_for_writing_and_reading(self, orders):
        off = EventLogOrderRepository(
            orders.log, orders.snapshots, snapshot_every=0, sealer=orders.sealer
        )
        order_id = grown(off, 2 * EVERY)
        assert orders.snapshots.get(order_id) is None
        planted(orders, order_id, 2 * EVERY)
        assert off.get(order_id).tracking_number == ""
        assert orders.get(order_id).tracking_number == "PLANTED"


class TestInMemorySnapshots(SnapshotContract):
    @pytest.fixture
    def orders(self):
        return InMemoryOrderRepository(snapshot_every=EVERY)


@pytest.mark.django_db(databases=["default"])
class TestDatabaseSnapshots(SnapshotContract):
    @pytest.fixture
    def orders(self):
        return EventLogOrderRepository(snapshot_every=EVERY)

    def test_the_snapshot_commits_or_rolls_back_with_the_commands_transaction(self, orders):
        order_id = grown(orders, EVERY - 1)
        order = orders.get(order_id)
        order.change_quantity("A-1", 9)
        with pytest.raises(RuntimeError), transaction.atomic():
            orders.add(order, ALICE, COMMAND)
            assert OrderSnapshot.objects.filter(stream_id=order_id).exists()
            raise RuntimeError("the command fails after its append")
        assert not OrderSnapshot.objects.filter(stream_id=order_id).exists()
        assert orders.get(order_id).version == EVERY - 1

    def test_the_repository_reads_the_setting_when_it_is_made(self, settings):
        settings.ORDINAL_SNAPSHOT_EVERY = 2
        order_id = grown(EventLogOrderRepository(), 2)
        assert OrderSnapshot.objects.get(stream_id=order_id).version == 2


@pytest.mark.parametrize(
    ("environment", "expected"), [({}, "100"), ({"ORDINAL_SNAPSHOT_EVERY": "7"}, "7")]
)
def test_the_setting_comes_from_the_environment_and_defaults_to_100(environment, expected):
    env = {k: v for k, v in os.environ.items() if k != "ORDINAL_SNAPSHOT_EVERY"}
    code = "from django.conf import settings; print(settings.ORDINAL_SNAPSHOT_EVERY)"
    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        env={**env, **environment},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.splitlines()[-1] == expected


def test_handlers_over_snapshots_do_what_they_do_over_whole_streams():
    """The command handlers, in memory: the same results and events with or without."""
    from tests.orders_write.test_handlers import run

    order_id = uuid.uuid4()

    def session(orders) -> list:
        line = Line("A-1", 1, Decimal("2.00"))
        seen = [run(orders, commands.PlaceOrder(order_id, "alice", "EUR", (line,))).version]
        for n in range(2, 12):
            command = commands.ChangeItemQuantity(order_id, "A-1", n)
            if n % 4 == 0:
                command = commands.AddItem(order_id, f"S-{n}", 1, Decimal("1.00"))
            seen.append(run(orders, command).version)
        seen.append(run(orders, commands.CancelOrder(order_id, "enough")).version)
        with pytest.raises(OrderNotPlaced):
            run(orders, commands.ChangeItemQuantity(order_id, "A-1", 1))
        return [seen, [(e.type, e.data) for e in orders.log.read_stream(order_id)]]

    with_snapshots = InMemoryOrderRepository(snapshot_every=EVERY)
    assert session(with_snapshots) == session(InMemoryOrderRepository(snapshot_every=0))
    assert len(with_snapshots.snapshots.rows) == 1
