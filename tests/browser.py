"""Headless Debian Chromium for the browser tests, driven by Playwright."""

import os
from pathlib import Path

import pytest

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
