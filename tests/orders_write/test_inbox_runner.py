"""DESIGN §13: each inbox entry runs exactly once, whatever the broker does; the sweep
sends lost ones again; finished ones are kept 24 h, then purged."""

import subprocess
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.db.models import F
from django.utils import timezone

from config import bootstrap
from config.tasks import command_run, inbox_purge, inbox_sweep
from eventlog.models import Event
from orders_write.commands import PlaceOrder
from orders_write.errors import ConcurrentModification
from orders_write.inbox.runner import RetryLater
from orders_write.models import InboxCommand
from tests.conftest import postgres_only
from tests.processes import PYTHON, child_env

from .conftest import item, order_path, place_body, run_in_threads
from .inbox_helpers import entry

pytestmark = pytest.mark.django_db(databases=["default", "read"])


@pytest.fixture
def queued(alice_client, sent, post_async) -> InboxCommand:
    """An async PlaceOrder of alice's, queued; its task was sent (and not run)."""
    response = post_async(alice_client, "/api/orders/", place_body())
    sent.clear()
    return entry(response)


def placed() -> int:
    return Event.objects.filter(type="OrderPlaced").count()


def aged(command: InboxCommand, **ago) -> None:
    """Move the entry's clocks back (sent_at, started_at), as if time had passed."""
    past = timezone.now() - timedelta(**ago)
    InboxCommand.objects.filter(pk=command.pk).update(sent_at=past, started_at=past)


def test_the_same_task_delivered_twice_runs_the_command_once(queued):
    first = command_run.apply(args=[str(queued.pk)]).get()
    again = command_run.apply(args=[str(queued.pk)]).get()
    assert (first, again) == ("succeeded", None)
    assert placed() == 1
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("succeeded", 1)


def test_a_running_entry_is_left_to_its_runner_while_its_lease_lasts(queued):
    runner = bootstrap.command_runner()
    assert runner.take(queued.pk) is not None
    assert runner.run(queued.pk) is None  # a redelivered task while the first one runs
    assert placed() == 0


def test_a_running_entry_whose_runner_died_is_taken_over_after_its_lease(queued, settings):
    runner = bootstrap.command_runner()
    runner.take(queued.pk)  # ... and the worker died
    aged(queued, seconds=settings.ORDINAL_INBOX_LEASE_SECONDS + 1)
    assert runner.run(queued.pk) == "succeeded"
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("succeeded", 2)
    assert placed() == 1


def test_a_runner_whose_lease_was_taken_over_commits_nothing(queued, monkeypatch):
    """While runner A decides, its lease runs out and B takes the entry over: A's events
    and outcome roll back together (B runs it)."""
    runner = bootstrap.command_runner()
    place_order = runner.bus.handlers[PlaceOrder]

    def slow_place_order(command, context):
        InboxCommand.objects.filter(pk=queued.pk).update(attempts=F("attempts") + 1)  # B took it
        return place_order(command, context)

    monkeypatch.setitem(runner.bus.handlers, PlaceOrder, slow_place_order)
    assert runner.run(queued.pk) is None
    assert placed() == 0
    queued.refresh_from_db()
    assert (queued.status, queued.result) == ("running", None)


def test_a_runner_that_wakes_up_after_the_entry_ran_gives_up(queued, settings):
    runner = bootstrap.command_runner()
    stalled = runner.take(queued.pk)
    aged(queued, seconds=settings.ORDINAL_INBOX_LEASE_SECONDS + 1)
    assert runner.run(queued.pk) == "succeeded"
    assert runner.run_taken(stalled) is None
    assert placed() == 1
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("succeeded", 2)


def test_the_sweep_sends_lost_tasks_again(queued, alice_client, sent, post_async, settings):
    fresh = entry(post_async(alice_client, "/api/orders/", place_body()))
    sent.clear()
    assert bootstrap.commands_resend() == 0  # both tasks are still on their way
    aged(queued, seconds=settings.ORDINAL_INBOX_RESEND_SECONDS + 1)
    assert bootstrap.commands_resend() == 1
    assert sent == [queued.pk]
    assert bootstrap.commands_resend() == 0  # sent just now: not again at once
    assert sent.run_all() == ["succeeded"]
    assert fresh.pk not in sent


def test_the_sweep_sends_a_running_entry_whose_runner_died(queued, sent, settings):
    bootstrap.command_runner().take(queued.pk)
    aged(queued, seconds=settings.ORDINAL_INBOX_RESEND_SECONDS + 1)
    assert bootstrap.commands_resend() == 0  # running, within its lease
    aged(queued, seconds=settings.ORDINAL_INBOX_LEASE_SECONDS + 1)
    assert bootstrap.commands_resend() == 1
    assert sent.run_all() == ["succeeded"]
    assert placed() == 1


@pytest.mark.parametrize("error", [OperationalError("gone"), ConcurrentModification("busy")])
def test_a_transient_error_queues_the_entry_again(queued, monkeypatch, error):
    runner = bootstrap.command_runner()

    def fails(*args, **kwargs):
        raise error

    monkeypatch.setattr(runner.bus, "dispatch", fails)
    with pytest.raises(RetryLater):
        runner.run(queued.pk)
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("queued", 1)
    assert bootstrap.command_runner().run(queued.pk) == "succeeded"


def test_in_a_request_a_transient_error_leaves_the_entry_to_the_sweep(queued, sent, settings):
    """Eager (the embedded default): no retry inside the request; the entry is queued."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "orders_write.bus.CommandBus.dispatch",
            lambda *args, **kwargs: (_ for _ in ()).throw(OperationalError("gone")),
        )
        assert command_run.apply(args=[str(queued.pk)]).get() is None
    queued.refresh_from_db()
    assert queued.status == "queued"
    aged(queued, seconds=settings.ORDINAL_INBOX_RESEND_SECONDS + 1)
    assert inbox_sweep.apply().get() == 1  # the beat task sends it again
    assert sent == [queued.pk]


def test_after_its_last_attempt_a_transient_error_is_its_outcome(queued, monkeypatch, settings):
    settings.ORDINAL_INBOX_ATTEMPTS = 2
    runner = bootstrap.command_runner()

    def busy(*args, **kwargs):
        raise ConcurrentModification("The order kept changing; gave up after 30 attempts.")

    monkeypatch.setattr(runner.bus, "dispatch", busy)
    with pytest.raises(RetryLater):
        runner.run(queued.pk)
    assert runner.run(queued.pk) == "failed"
    queued.refresh_from_db()
    assert queued.problem["status"] == 409
    assert queued.problem["type"].endswith(":concurrent-modification")


def test_finished_entries_are_kept_24_hours_then_purged(queued, alice_client, sent, post_async):
    bootstrap.command_runner().run(queued.pk)
    old = entry(post_async(alice_client, "/api/orders/", place_body()))
    waiting = entry(post_async(alice_client, "/api/orders/", place_body()))
    sent.run_all()
    now = timezone.now()
    InboxCommand.objects.filter(pk=queued.pk).update(finished_at=now - timedelta(hours=23))
    InboxCommand.objects.filter(pk=old.pk).update(finished_at=now - timedelta(hours=25))
    InboxCommand.objects.filter(pk=waiting.pk).update(
        status="queued", finished_at=None, created_at=now - timedelta(days=3)
    )
    assert inbox_purge.apply().get() == 1  # the beat task
    left = set(InboxCommand.objects.values_list("pk", flat=True))
    assert left == {queued.pk, waiting.pk}


def test_the_purge_runs_hourly_and_the_sweep_with_the_projections(settings):
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["orders_write.inbox_purge"] == 3600
    assert schedule["orders_write.inbox_sweep"] == settings.ORDINAL_SWEEP_SECONDS
    assert settings.ORDINAL_INBOX_KEEP_HOURS == 24


def test_the_broker_queue_is_named_by_the_environment():
    """Web, workers and beat read CELERY_TASK_DEFAULT_QUEUE (default: Celery's own)."""
    script = "from config.celery_app import app; print(app.conf.task_default_queue)"
    named = subprocess.run(
        [PYTHON, "-c", script],
        env=child_env(CELERY_TASK_DEFAULT_QUEUE="orders-eu"),
        capture_output=True,
        text=True,
        check=True,
    )
    default = subprocess.run(
        [PYTHON, "-c", script], env=child_env(), capture_output=True, text=True, check=True
    )
    assert (named.stdout.strip(), default.stdout.strip()) == ("orders-eu", "celery")


@postgres_only
@pytest.mark.django_db(transaction=True, databases=["default", "read"])
def test_two_workers_racing_on_one_entry_run_it_once(alice, alice_client, sent, post_async):
    order = post_async(alice_client, "/api/orders/", place_body())
    added = entry(post_async(alice_client, order_path_of(alice_client, order), item("Z-9")))
    sent.clear()
    results = run_in_threads(8, lambda n: bootstrap.command_runner().run(added.pk))
    assert sorted(map(str, results)) == ["None"] * 7 + ["succeeded"]
    assert Event.objects.filter(type="ItemAdded").count() == 1


def order_path_of(client, response) -> str:
    """Run the async PlaceOrder now; return the add-item path of the order it placed."""
    bootstrap.command_runner().run(entry(response).pk)
    order_id = client.get(response["Location"]).json()["order_id"]
    return order_path(order_id, "add-item")
