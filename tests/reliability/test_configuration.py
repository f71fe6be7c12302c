"""Configuration guards (DESIGN §8): JSON-only Celery, late acks, on_commit on the write alias."""

import subprocess
import uuid

import pytest
from django.db import transaction
from kombu.exceptions import ContentDisallowed
from kombu.message import Message
from kombu.serialization import dumps, loads

from config.bootstrap import command_bus
from config.celery_app import app
from eventlog.models import Event
from orders_read import parking, tasks
from orders_write import commands
from tests.orders_read.conftest import line
from tests.processes import production_env

from .conftest import BASE_DIR, BOTH_DATABASES, PYTHON

# The longest a task may sit unacknowledged on a worker: the largest retry countdown
# (a parked stream's backoff) plus a generous bound for one catch-up run.
LONGEST_TASK_SECONDS = parking.MAX_BACKOFF_SECONDS + 600


class TestCelery:
    def test_only_json_is_accepted_and_sent(self):
        assert app.conf.accept_content == ["json"]
        assert app.conf.task_serializer == app.conf.result_serializer == "json"

    def test_a_pickled_message_is_refused_by_the_worker_side_decoder(self):
        content_type, encoding, body = dumps({"name": "order_view"}, serializer="pickle")
        assert content_type == "application/x-python-serialize"
        with pytest.raises(ContentDisallowed):
            loads(body, content_type, encoding, accept=app.conf.accept_content)
        message = Message(
            body=body,
            content_type=content_type,
            content_encoding=encoding,
            accept=app.conf.accept_content,
        )
        with pytest.raises(ContentDisallowed):
            message.decode()

    def test_tasks_ack_late_and_are_requeued_when_their_worker_dies(self):
        assert app.conf.task_acks_late is True
        assert app.conf.task_reject_on_worker_lost is True
        for task in (tasks.projection_catch_up, tasks.projections_catch_up):
            assert task.acks_late is True
            assert task.reject_on_worker_lost is True

    def test_the_visibility_timeout_is_well_above_the_longest_task(self):
        timeout = app.conf.broker_transport_options["visibility_timeout"]
        assert timeout >= 2 * LONGEST_TASK_SECONDS, timeout

    def test_retries_are_bounded(self):
        assert 0 < tasks.projection_catch_up.max_retries <= 20


@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
class TestOnCommitBinding:
    def test_a_command_inside_a_read_transaction_nudges_once_the_write_db_commits(self):
        nudges: list[int] = []
        bus = command_bus()
        bus.after_commit = lambda position: nudges.append(Event.objects.count())
        with transaction.atomic(using="read"):
            result = bus.dispatch(place_order(), alice())
            # The write transaction has committed (the read one has not): the events are
            # visible to the worker, so the nudge has fired, once.
            assert nudges == [1]
        assert result.version == 1
        assert nudges == [1]

    def test_the_nudge_waits_for_an_outer_write_transaction_and_dies_with_it(self):
        nudges: list[int] = []
        bus = command_bus()
        bus.after_commit = lambda position: nudges.append(Event.objects.count())
        with transaction.atomic(using="default"):
            bus.dispatch(place_order(), alice())
            assert nudges == [], "the nudge fired before the events committed"
        assert nudges == [1]
        with pytest.raises(RuntimeError), transaction.atomic(using="default"):
            bus.dispatch(place_order(), alice())
            raise RuntimeError("roll back")
        assert nudges == [1], "a rolled-back command nudged"
        assert Event.objects.count() == 1


def test_check_deploy_is_clean_with_production_values(tmp_path):
    done = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        # CACHE_URL is not contacted: the check reads the setting.
        env=production_env(tmp_path, CACHE_URL="redis://127.0.0.1:6379/1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def place_order() -> commands.PlaceOrder:
    return commands.PlaceOrder(
        order_id=uuid.uuid4(), customer_id="alice", currency="EUR", items=(line("A-1"),)
    )


def alice() -> commands.Context:
    return commands.Context(actor=commands.Actor("alice", False))
