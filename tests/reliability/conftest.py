"""Helpers for the reliability suite: test-database URLs for child processes, snapshots."""

import os
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from orders_read import runner
from tests.orders_read.conftest import BOTH_DATABASES, positions, snapshot

BASE_DIR = Path(settings.BASE_DIR)
# Bounds for a loaded 2-core machine; never a speed assertion.
WAIT = 30

__all__ = ["BASE_DIR", "BOTH_DATABASES", "WAIT", "positions", "rebuilt", "snapshot"]


def database_url(alias: str) -> str:
    """Return a URL for the test database behind an alias, for a child process."""
    db = connections[alias].settings_dict
    if connections[alias].vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{db['USER']}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    """Return the environment for a child process working on this test's databases."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url("default"),
        "READ_DATABASE_URL": database_url("read"),
        "PYTHONPATH": str(BASE_DIR),
        **extra,
    }


PYTHON = sys.executable


def rebuilt() -> dict[str, list[dict]]:
    """Replay the whole log into every read model and return the result."""
    for name in runner.projection_names():
        runner.projection_rebuild(name)
    return snapshot()


@pytest.fixture
def no_nudge(monkeypatch):
    """Commands enqueue no catch-up: the test decides when projections run."""
    monkeypatch.setattr("orders_write.bootstrap.enqueue_catch_up", lambda: None)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
