"""DESIGN §13 end to end: async commands through a real broker and real worker processes.

On PostgreSQL, with gunicorn, Celery workers and beat as separate processes: the broker
down when the command is accepted (a private Redis, SIGKILLed), and 200 commands racing
on 20 orders from 2 workers, each delivered a second time, on Redis and on RabbitMQ.
Each command must run exactly once (one event caused by it) and each order's versions
must stay contiguous.
"""

import re
import signal
import uuid
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token

from config import bootstrap
from config.celery_app import app
from eventlog.models import Event
from orders_write import commands
from orders_write.domain.values import Line
from orders_write.inbox.entries import Sender
from orders_write.models import InboxCommand
from tests.conftest import postgres_only
from tests.processes import Api, free_port, start_beat, start_web, start_worker, stop

from ..config.test_readyz import AMQP_URL, needs_rabbitmq
from .conftest import BOTH_DATABASES
from .servers import private_redis  # noqa: F401  (a fixture)
from .worker_faults import wait_alive

ORDERS, COMMANDS, CLIENTS = 20, 200, 4
# Bounds for a loaded 2-core machine, not speed assertions.
CONVERGE_SECONDS = 120
# The sweep every second; a queued entry whose task is a second old is sent again: lost
# tasks come back fast, and many entries get their task twice (exactly once must hold).
FAST_SWEEP = {"ORDINAL_SWEEP_SECONDS": "1", "ORDINAL_INBOX_RESEND_SECONDS": "1"}
ASYNC = {"Prefer": "respond-async"}
RUN_TASK = "orders_write.command_run"

pytestmark = [
    postgres_only,  # web, workers and beat on one database
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def running() -> bool:
    return InboxCommand.objects.filter(status="running").exists()


def all_done(count: int) -> bool:
    return InboxCommand.objects.filter(status__in=["succeeded", "failed"]).count() >= count


def caused_by() -> Counter:
    """How many events each command caused (by the causation id in their metadata)."""
    return Counter(
        meta["causation_id"] for meta in Event.objects.values_list("metadata", flat=True)
    )


def assert_ran_exactly_once(command_ids: list[str]) -> None:
    assert InboxCommand.objects.filter(status="succeeded").count() == len(command_ids)
    events = caused_by()
    assert [events[command_id] for command_id in command_ids] == [1] * len(command_ids)


def assert_versions_contiguous() -> None:
    versions: dict = {}
    for stream, version in Event.objects.order_by("position").values_list("stream_id", "version"):
        versions.setdefault(stream, []).append(version)
    for stream, found in versions.items():
        assert sorted(found) == list(range(1, len(found) + 1)), stream


def test_a_command_accepted_while_the_broker_is_down_runs_once_it_is_back(
    alice,
    private_redis,  # noqa: F811  (the fixture imported above)
    tmp_path,
):
    env = {"CELERY_BROKER_URL": private_redis.url(0), **FAST_SWEEP}
    logs = {name: tmp_path / f"{name}.log" for name in ("web", "worker", "beat")}
    port = free_port()
    api = Api(port, Token.objects.create(user=alice).key)
    web = start_web(logs["web"], port, **env)
    worker = start_worker(logs["worker"], concurrency=2, **env)
    beat = start_beat(logs["beat"], tmp_path / "beat-schedule", **env)
    children = {logs["worker"]: worker, logs["beat"]: beat}
    body = {"currency": "EUR", "items": [{"sku": "A-1", "quantity": 1, "unit_price": "1.00"}]}
    try:
        status, first = api.call("POST", "/api/orders/", body, **ASYNC)
        assert status == 202
        wait_alive(children, lambda: all_done(1), "the first async command", CONVERGE_SECONDS)

        private_redis.stop(signal.SIGKILL)
        answers = [api.call("POST", "/api/orders/", body, **ASYNC) for _ in range(5)]
        assert [status for status, _ in answers] == [202] * 5
        ids = [answer["command_id"] for _, answer in answers]
        assert InboxCommand.objects.filter(command_id__in=ids, status="queued").count() == 5

        private_redis.start()  # same port, empty: every task sent before is gone
        wait_alive(children, lambda: all_done(6), "the sweep after the broker's return", 120)
    finally:
        stop(beat)
        stop(worker)
        stop(web)
    assert "Could not enqueue command" in logs["web"].read_text()
    assert_ran_exactly_once([first["command_id"], *ids])


def received(logs: list) -> int:
    """How many command_run deliveries the workers' logs show."""
    pattern = re.escape(RUN_TASK) + r"\[[0-9a-f-]+\] received"
    return sum(len(re.findall(pattern, log.read_text())) for log in logs)


def deliver_again(broker: str, queue: str, command_ids: list[str]) -> None:
    """Publish every command's task a second time, as a redelivering broker would."""
    with app.connection_for_write(broker) as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # AlwaysEagerIgnored, on an eager configuration
        for command_id in command_ids:
            app.send_task(RUN_TASK, args=[command_id], queue=queue, connection=connection)


def race(api: Api, children: dict, order_ids: list[str]) -> list[str]:
    """Send 10 async add-items per order from 4 clients; wait until all ran; their ids."""
    sends = [(order_ids[n % ORDERS], f"S-{n}") for n in range(COMMANDS)]

    def send(target: tuple[str, str]) -> str:
        order_id, sku = target
        path = f"/api/orders/{order_id}/add-item/"
        status, body = api.call(
            "POST", path, {"sku": sku, "quantity": 1, "unit_price": "1.00"}, **ASYNC
        )
        assert status == 202, body
        return body["command_id"]

    with ThreadPoolExecutor(CLIENTS) as clients:
        command_ids = list(clients.map(send, sends))
    wait_alive(children, lambda: all_done(COMMANDS + ORDERS), "every command", CONVERGE_SECONDS)
    return command_ids


def race_on(broker: str, user, tmp_path, queue: str = "celery") -> None:
    env = {"CELERY_BROKER_URL": broker, "CELERY_TASK_DEFAULT_QUEUE": queue, **FAST_SWEEP}
    logs = {name: tmp_path / f"{name}.log" for name in ("web", "worker-1", "worker-2", "beat")}
    port = free_port()
    api = Api(port, Token.objects.create(user=user).key)
    web = start_web(logs["web"], port, **env)
    workers = [start_worker(logs[f"worker-{n}"], concurrency=2, **env) for n in (1, 2)]
    beat = start_beat(logs["beat"], tmp_path / "beat-schedule", **env)
    children = {logs["worker-1"]: workers[0], logs["worker-2"]: workers[1], logs["beat"]: beat}
    body = {"currency": "EUR", "items": [{"sku": "A-1", "quantity": 1, "unit_price": "1.00"}]}
    try:
        placed = [api.call("POST", "/api/orders/", body, **ASYNC)[1] for _ in range(ORDERS)]
        wait_alive(children, lambda: all_done(ORDERS), "the orders", CONVERGE_SECONDS)
        order_ids = [
            api.call("GET", f"/api/commands/{p['command_id']}/")[1]["order_id"] for p in placed
        ]
        command_ids = race(api, children, order_ids)
        # Each add-item delivered once more, to whichever worker takes it: nothing changes.
        deliver_again(broker, queue, command_ids)
        worker_logs = [logs["worker-1"], logs["worker-2"]]
        everything = 2 * COMMANDS + ORDERS  # at least: the sweep may have sent some again
        wait_alive(children, lambda: received(worker_logs) >= everything, "the redeliveries", 60)
        wait_alive(children, lambda: not running(), "the redelivered tasks to finish", 60)
    finally:
        stop(beat)
        for worker in workers:
            stop(worker)
        stop(web)
    assert_ran_exactly_once([p["command_id"] for p in placed] + command_ids)
    assert_versions_contiguous()
    assert Event.objects.filter(type="ItemAdded").count() == COMMANDS
    for order_id in order_ids:
        assert Event.objects.filter(stream_id=order_id).count() == 1 + COMMANDS // ORDERS


def test_200_async_commands_on_20_orders_from_2_workers_over_redis(
    alice,
    private_redis,  # noqa: F811  (the fixture imported above)
    tmp_path,
):
    race_on(private_redis.url(0), alice, tmp_path)


@needs_rabbitmq
def test_200_async_commands_on_20_orders_from_2_workers_over_rabbitmq(alice, tmp_path):
    queue = f"ordinal-async-test-{uuid.uuid4().hex[:8]}"
    try:
        race_on(AMQP_URL, alice, tmp_path, queue)
    finally:
        with app.connection_for_write(AMQP_URL) as connection:
            connection.default_channel.queue_delete(queue)


def test_an_entry_whose_worker_died_is_run_by_another_once_its_lease_is_over(
    alice,
    monkeypatch,
    private_redis,  # noqa: F811  (the fixture imported above)
    tmp_path,
):
    """A worker took an entry (running, attempt 1) and died before committing anything;
    its task is gone. Beat's sweep sends it again once its lease (2 s here) is over, and
    a real worker runs it: attempt 2, one event."""
    monkeypatch.setattr("config.bootstrap.enqueue_command_run", lambda command_id: None)
    command = commands.PlaceOrder(uuid.uuid4(), "alice", "EUR", (Line("A-1", 1, Decimal("1")),))
    sender = Sender(str(alice.pk), "alice", False)
    entry = bootstrap.command_accept(command, commands.Context(commands.Actor("alice")), sender)
    assert bootstrap.command_runner().take(entry.command_id) is not None  # the dead worker
    env = {"CELERY_BROKER_URL": private_redis.url(0), **FAST_SWEEP}
    env["ORDINAL_INBOX_LEASE_SECONDS"] = "2"
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "beat")}
    worker = start_worker(logs["worker"], concurrency=2, **env)
    beat = start_beat(logs["beat"], tmp_path / "beat-schedule", **env)
    try:
        wait_alive(
            {logs["worker"]: worker, logs["beat"]: beat},
            lambda: all_done(1),
            "the entry run by another worker",
            CONVERGE_SECONDS,
        )
    finally:
        stop(beat)
        stop(worker)
    entry.refresh_from_db()
    assert (entry.status, entry.attempts) == ("succeeded", 2)
    assert caused_by()[str(entry.command_id)] == 1
