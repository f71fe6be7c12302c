"""Invariant 4: the same catch-up task delivered many times, concurrently, has one effect."""

import threading

import pytest
from django.db import connections

from eventlog import store
from eventlog.models import Event
from orders_read import runner, tasks
from orders_read.models import CustomerSummary, ProductSales
from orders_write import commands
from tests.orders_read.conftest import line, place, run

from .conftest import BOTH_DATABASES, WAIT, positions, rebuilt, snapshot

DELIVERIES, COPIES = 6, 4  # threads, and deliveries of every projection's task per thread
ORDERS = 40

pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)


def test_redelivered_catch_up_tasks_apply_each_event_once(no_nudge):
    applied: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(DELIVERIES + 1)

    def write() -> None:
        for n in range(ORDERS):
            order_id = place(f"c{n % 4}", line("A-1", 1, "2.00"), line(f"S-{n % 3}", 2, "1.50"))
            if n % 4 == 0:
                run(commands.CancelOrder(order_id), f"c{n % 4}")

    def deliver(n: int) -> None:
        names = runner.projection_names()
        for copy in range(COPIES):
            for name in names[copy % 3 :] + names[: copy % 3]:
                # The worker's code path: the task itself, run with a task request.
                result = tasks.projection_catch_up.apply(args=[name])
                if result.failed():
                    errors.append(result.result)
                else:
                    applied.append(result.result)

    def body(target, *args) -> None:
        try:
            start.wait(WAIT)
            target(*args)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(write,), daemon=True)]
    threads += [
        threading.Thread(target=body, args=(deliver, n), daemon=True) for n in range(DELIVERIES)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    # One last delivery after the writer: whatever the racing ones left.
    for name in runner.projection_names():
        applied.append(tasks.projection_catch_up.apply(args=[name]).result)

    events = Event.objects.count()
    assert sum(applied) == events * len(runner.projection_names()), (
        "an event was read (applied) twice or never"
    )
    assert set(positions().values()) == {store.head_position()}
    assert ProductSales.objects.using("read").get(sku="A-1").units_sold == ORDERS - ORDERS // 4
    counts = (
        CustomerSummary.objects.using("read")
        .order_by("pk")
        .values_list("orders_count", "open_orders")
    )
    assert list(counts) == [(10, 0), (10, 10), (10, 10), (10, 10)]
    built = snapshot()
    assert built == rebuilt()
    print(f"\n{DELIVERIES * COPIES * 3 + 3} deliveries, {events} events, {sum(applied)} applied")
