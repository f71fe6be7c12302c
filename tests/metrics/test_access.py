"""/metrics answers METRICS_ALLOW addresses and staff; anyone else gets a 403 problem."""

from ipaddress import ip_network

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(databases=["default", "read"])

PROBLEM = "application/problem+json"
# What Prometheus sends.
SCRAPER_ACCEPT = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3"


def get(client, address: str, **headers: str):
    return client.get("/metrics", REMOTE_ADDR=address, HTTP_ACCEPT=SCRAPER_ACCEPT, **headers)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_callers_read_the_metrics_by_default(client, address):
    response = get(client, address)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"# TYPE ordinal_projection_position gauge" in response.content


@pytest.mark.parametrize("address", ["10.0.0.7", "192.168.1.2", "2001:db8::1", "", "junk"])
def test_other_anonymous_callers_get_a_403_problem(client, address):
    response = get(client, address)
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:ordinal:problem:permission-denied"
    assert body["status"] == 403
    assert b"ordinal_" not in response.content


def test_metrics_allow_names_the_addresses_and_networks(client, settings):
    settings.METRICS_ALLOW_NETWORKS = [ip_network("10.0.0.0/8"), ip_network("2001:db8::1/128")]
    assert get(client, "10.1.2.3").status_code == 200
    assert get(client, "2001:db8::1").status_code == 200
    assert get(client, "2001:db8::2").status_code == 403
    assert get(client, "127.0.0.1").status_code == 403  # loopback only by default


def test_staff_read_them_from_anywhere_other_users_do_not(staff, alice):
    for user, status in ((staff, 200), (alice, 403)):
        client = APIClient()
        client.force_authenticate(user)
        assert get(client, "10.0.0.7").status_code == status


def test_behind_proxies_the_address_the_first_proxy_saw_decides(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The proxy (on loopback) appended the client's address: the client is outside.
    assert get(client, "127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.7").status_code == 403
    # A client's own header is not believed: only the proxy's entry counts.
    forged = "127.0.0.1, 10.0.0.7"
    assert get(client, "127.0.0.1", HTTP_X_FORWARDED_FOR=forged).status_code == 403
    assert get(client, "127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.7, 127.0.0.1").status_code == 200
    # Without the header the caller reached this server directly (a local scraper).
    assert get(client, "127.0.0.1").status_code == 200
    settings.TRUSTED_PROXY_COUNT = 2
    assert get(client, "127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403


def test_other_methods_get_a_405_problem(client):
    response = client.post("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 405
    assert response["Content-Type"] == PROBLEM


def test_the_metrics_are_not_part_of_the_api_schema(staff_client):
    schema = staff_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert not [path for path in schema["paths"] if "metrics" in path]
