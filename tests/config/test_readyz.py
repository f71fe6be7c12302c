"""Readiness: both databases and the broker are checked, and a failing one is named."""

import os
import socket
from urllib.parse import urlsplit

import pytest
from django.db import connections

# RabbitMQ, the documented alternative to Redis (CI runs one locally).
AMQP_URL = os.environ.get("ORDINAL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def reachable(url: str) -> bool:
    """Return whether something listens at the URL's host and port."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 5672), timeout=1).close()
        return True
    except OSError:
        return False


needs_rabbitmq = pytest.mark.skipif(
    not reachable(AMQP_URL), reason=f"needs RabbitMQ at {AMQP_URL} (set ORDINAL_TEST_AMQP_URL)"
)

pytestmark = pytest.mark.django_db(databases=["default", "read"])


def test_ready_when_databases_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"default": "ok", "read": "ok", "broker": "ok"}


@pytest.fixture
def unreachable_broker(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"


def test_unreachable_broker_is_named(client, unreachable_broker):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert response["Retry-After"]


@pytest.fixture
def broker_at(settings):
    def use(url: str) -> None:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.CELERY_BROKER_URL = url

    return use


@needs_rabbitmq
def test_ready_with_rabbitmq_as_the_broker(client, broker_at):
    broker_at(AMQP_URL)
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["broker"] == "ok"


@pytest.mark.parametrize(
    "url",
    [
        "amqp://guest:guest@127.0.0.1:9//",  # nothing listens
        pytest.param(
            AMQP_URL.replace("guest:guest@", "guest:not-the-password@"),
            marks=needs_rabbitmq,
            id="refused-login",
        ),
    ],
)
def test_an_unusable_rabbitmq_is_named(client, broker_at, url):
    broker_at(url)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


@pytest.fixture
def unreachable_read_database():
    connection = connections["read"]
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/read.sqlite3"
    else:
        connection.settings_dict["PORT"] = "9"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True, databases=["default", "read"])
def test_unreachable_read_database_is_named(client, unreachable_read_database):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["read"]
    assert body["checks"]["default"] == "ok"
