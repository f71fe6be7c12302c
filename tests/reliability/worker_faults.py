"""Helpers for the fault tests that run a real worker, beat or web process.

These tests use a private Redis as their broker (see servers.py): a test may kill it,
and nothing another test queued can reach their workers.
"""

import re
import subprocess
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from config.celery_app import app
from eventlog import store
from orders_read import runner
from orders_read.models import CustomerSummary, ProductSales
from orders_write import commands
from tests.orders_read.conftest import line, place, run
from tests.processes import wait_until

from .conftest import positions, rebuilt, snapshot

CATCH_UP_TASK = "orders_read.projection_catch_up"
# A bound for a loaded 2-core machine, not an expectation.
CONVERGE_SECONDS = 90


def converged() -> bool:
    """Whether every projection's checkpoint is at the head of the event log."""
    now = positions()
    return len(now) == len(runner.projection_names()) and set(now.values()) == {
        store.head_position()
    }


def wait_alive(
    children: dict[Path, subprocess.Popen], condition: Callable[[], bool], what: str, seconds: float
) -> None:
    """Wait for `condition` as `wait_until` does; fail at once if a child exits meanwhile.

    `children` maps each child's log to it: a child that exited is named by its log, whose
    tail the failure shows. No supervisor: a worker or beat must survive the faults itself.
    """

    def check() -> bool:
        for log, child in children.items():
            if child.poll() is not None:
                tail = log.read_text()[-6000:]
                pytest.fail(f"{log.stem} exited ({child.returncode}) before {what}; log:\n{tail}")
        return condition()

    wait_until(check, what, next(iter(children)), seconds)


def publish_catch_up(broker_url: str) -> list[str]:
    """Queue one catch-up task per projection on `broker_url`; return their task ids.

    `send_task` publishes even where the suite's own broker runs tasks eagerly: the test
    wants the message on the private broker, for a worker to take.
    """
    ids = []
    with app.connection_for_write(broker_url) as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # AlwaysEagerIgnored, on an eager configuration
        for name in runner.projection_names():
            result = app.send_task(CATCH_UP_TASK, args=[name], connection=connection)
            ids.append(result.id)
    return ids


def received(log: Path) -> list[str]:
    """The ids of the catch-up tasks a worker's log says it received, in order."""
    pattern = re.escape(CATCH_UP_TASK) + r"\[([0-9a-f-]+)\] received"
    return re.findall(pattern, log.read_text())


def applied_per_task(log: Path) -> dict[str, int]:
    """How many events each catch-up task run returned, by task id (the worker's log)."""
    pattern = re.escape(CATCH_UP_TASK) + r"\[([0-9a-f-]+)\] succeeded in [0-9.e-]+s: (\d+)"
    runs: dict[str, int] = {}
    for task_id, count in re.findall(pattern, log.read_text()):
        runs[task_id] = runs.get(task_id, 0) + int(count)
    return runs


def assert_same_as_a_rebuild() -> None:
    """What the workers built incrementally is what a replay of the whole log builds."""
    built = snapshot()
    assert built == rebuilt(), "the read model differs from a from-scratch rebuild"


@dataclass
class Expected:
    """What the read models must show for the commands a workload dispatched."""

    units: Counter = field(default_factory=Counter)  # sku: units sold (cancelled excluded)
    orders: Counter = field(default_factory=Counter)  # customer: orders placed
    open: Counter = field(default_factory=Counter)  # customer: orders still open
    events: int = 0


def write_orders(count: int, customers: int = 8) -> Expected:
    """Dispatch `count` orders and about 1.5 x `count` more commands; return their sums.

    Every order gets a second item; every 4th changes that item's quantity, every 4th
    (another one) is cancelled, so a replayed or lost event shows in units and counts.
    """
    expected = Expected()
    for n in range(count):
        customer, sku = f"c{n % customers}", f"S-{n % 5}"
        order_id = place(customer, line("A-1", 1, "2.00"))
        run(commands.AddItem(order_id, sku, 2, Decimal("1.50")), customer)
        quantity, expected.events = 2, expected.events + 2
        if n % 4 == 1:
            run(commands.ChangeItemQuantity(order_id, sku, 3), customer)
            quantity, expected.events = 3, expected.events + 1
        expected.orders[customer] += 1
        if n % 4 == 3:
            run(commands.CancelOrder(order_id), customer)
            expected.events += 1
            continue
        expected.open[customer] += 1
        expected.units["A-1"] += 1
        expected.units[sku] += quantity
    return expected


def assert_counts(expected: Expected, *, customers: bool = True) -> None:
    """Units, orders and open orders are exactly what was commanded: no event twice or lost.

    `customers=False` checks the product-sales projection only.
    """
    units = dict(ProductSales.objects.using("read").values_list("sku", "units_sold"))
    assert units == dict(expected.units), "units sold differ: an event applied twice or lost"
    if not customers:
        return
    summaries = CustomerSummary.objects.using("read").values_list(
        "customer_id", "orders_count", "open_orders"
    )
    assert {c: (n, o) for c, n, o in summaries} == {
        c: (expected.orders[c], expected.open[c]) for c in expected.orders
    }, "customer counts differ: an event applied twice or lost"
