"""Fixtures of the metrics tests: a scrape through the test client, from loopback."""

import os
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from config.metrics_dir import ENV

from .scrape import Samples, parsed

BOTH_DATABASES = ["default", "read"]
# Read from the databases by the view, not counted by any process.
GAUGE_PREFIXES = ("ordinal_projection_", "ordinal_event_log_", "ordinal_command_inbox_")


def own_samples() -> Samples:
    """Return the counters and histograms of this process alone (its own files)."""
    files = [str(path) for path in Path(os.environ[ENV]).glob(f"*_{os.getpid()}.db")]
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in MultiProcessCollector.merge(files)
        for sample in family.samples
    }


@pytest.fixture
def scrape(client):
    """Return a function that scrapes /metrics (as a loopback caller) and returns its
    gauges with this process's own counters and histograms.

    Own ones, so that tests running at the same time in other processes (pytest -n, whose
    workers share a process tree) cannot move them; test_processes.py and
    test_exposition.py check what the view adds up.
    """

    def scrape_now() -> Samples:
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
        assert response.status_code == 200, response.content
        gauges = {
            key: found
            for key, found in parsed(response.content.decode()).items()
            if key[0].startswith(GAUGE_PREFIXES)
        }
        return {**gauges, **own_samples()}

    return scrape_now
