"""Fixtures of the metrics tests: a scrape through the test client, from loopback."""

import pytest

from .scrape import Samples, parsed

BOTH_DATABASES = ["default", "read"]


@pytest.fixture
def scrape(client):
    """Return a function that scrapes /metrics (as a loopback caller) and parses it."""

    def scrape_now() -> Samples:
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
        assert response.status_code == 200, response.content
        return parsed(response.content.decode())

    return scrape_now
