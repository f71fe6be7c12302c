"""Shared fixtures: users of each kind, API clients, and the database backend in use."""

import pytest
from django.core.cache import cache
from django.db import connections
from rest_framework.test import APIClient


def on_postgres() -> bool:
    return connections["default"].vendor == "postgresql"


postgres_only = pytest.mark.skipif(
    not on_postgres(), reason="needs PostgreSQL: set DATABASE_URL and READ_DATABASE_URL"
)


@pytest.fixture
def eager():
    """Run Celery tasks in-process, right after the command commits, even with a broker."""
    from config.celery_app import app

    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, *, staff: bool = False, password: str = "pw-secret-1"):
        return django_user_model.objects.create_user(
            username=username, password=password, is_staff=staff
        )

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def carol(make_user):
    """A customer with an account and no client: staff order for her."""
    return make_user("carol")


@pytest.fixture
def staff(make_user):
    return make_user("stella", staff=True)


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def anon_client():
    return client_for()


@pytest.fixture
def alice_client(alice):
    return client_for(alice)


@pytest.fixture
def bob_client(bob):
    return client_for(bob)


@pytest.fixture
def staff_client(staff):
    return client_for(staff)
