"""Readiness: both databases and the broker are checked, and a failing one is named."""

import pytest
from django.db import connections

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
