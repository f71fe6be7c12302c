"""Helpers for the command inbox tests: POST with Prefer: respond-async, run what was sent."""

import pytest
from rest_framework.test import APIClient

from config import bootstrap
from orders_write.models import InboxCommand

from .conftest import post

ASYNC = {"HTTP_PREFER": "respond-async"}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


class Sent(list):
    """The command ids whose task was sent (no broker: the test runs them)."""

    def run_all(self) -> list[str | None]:
        ran = [bootstrap.command_runner().run(command_id) for command_id in self]
        self.clear()
        return ran


@pytest.fixture
def sent(monkeypatch) -> Sent:
    """Record the tasks the inbox sends instead of sending them."""
    ids = Sent()
    monkeypatch.setattr("config.bootstrap.enqueue_command_run", ids.append)
    return ids


@pytest.fixture
def post_async(django_capture_on_commit_callbacks):
    """POST with `Prefer: respond-async`, the request's commit callbacks run as in production."""

    def send(client, path: str, body=None, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return post(client, path, body, **ASYNC, **headers)

    return send


def entry(response) -> InboxCommand:
    return InboxCommand.objects.get(command_id=response.json()["command_id"])
