"""Headless Debian Chromium for the browser tests, driven by Playwright."""

import os
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from config.bootstrap import command_bus
from orders_read import runner
from orders_write import commands
from orders_write.domain.values import Line

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# CI sets ORDINAL_REQUIRE_BROWSER: there a missing browser fails the run instead of skipping.
if os.environ.get("ORDINAL_REQUIRE_BROWSER"):
    from playwright import sync_api

    assert CHROMIUM.exists(), "CI must install Debian's chromium at /usr/bin/chromium"
else:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )

# The marks of a browser test module: Chromium present, live server on both databases.
BROWSER_TEST = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
    pytest.mark.django_db(transaction=True, databases=["default", "read"]),
]


def launch(playwright):
    """Start the browser (close it when done)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


STAFF_USERNAME, STAFF_PASSWORD = "stella", "pw-secret-1"


def staff_and_a_projected_order(user_model) -> UUID:
    """Create the staff user the browser logs in as, and alice's order, projected."""
    user_model.objects.create_user(STAFF_USERNAME, password=STAFF_PASSWORD, is_staff=True)
    order_id = uuid4()
    command_bus().dispatch(
        commands.PlaceOrder(order_id, "alice", "EUR", (Line("A-1", 2, Decimal("10.00")),)),
        commands.Context(commands.Actor("alice")),
    )
    for name in runner.projection_names():
        runner.projection_catch_up(name)
    return order_id
