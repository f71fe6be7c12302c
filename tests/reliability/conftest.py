"""Helpers for the reliability suite: test-database URLs for child processes, snapshots."""

import pytest
from django.db import connections

from orders_read import rebuilds, runner
from tests.orders_read.conftest import BOTH_DATABASES, positions, snapshot
from tests.processes import BASE_DIR, PYTHON, child_env

# Bounds for a loaded 2-core machine; never a speed assertion.
WAIT = 30

__all__ = [
    "BASE_DIR",
    "BOTH_DATABASES",
    "PYTHON",
    "WAIT",
    "child_env",
    "positions",
    "rebuilt",
    "sessions_waiting_on_a_lock",
    "snapshot",
    "waiting_on_a_lock",
]


def sessions_waiting_on_a_lock() -> int:
    """How many sessions on the read database wait for a lock (PostgreSQL)."""
    with connections["read"].cursor() as cursor:
        # Inside a transaction PostgreSQL shows the activity as of its first look: look anew.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def waiting_on_a_lock() -> bool:
    """Whether some session on the read database waits for a lock (PostgreSQL)."""
    return sessions_waiting_on_a_lock() > 0


def rebuilt() -> dict[str, list[dict]]:
    """Replay the whole log into every read model and return the result."""
    for name in runner.projection_names():
        rebuilds.projections_rebuild([name])
    return snapshot()


@pytest.fixture
def no_nudge(monkeypatch):
    """Commands enqueue no catch-up: the test decides when projections run."""
    monkeypatch.setattr("config.bootstrap.enqueue_catch_up", lambda position: None)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
