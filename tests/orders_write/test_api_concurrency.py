"""Optimistic concurrency: If-Match gives 412 on a stale version; without it, races are retried.

The race tests use real threads, each with its own database connection, started
together on a barrier. They matter on PostgreSQL; on SQLite (IMMEDIATE transactions)
the writers queue, and the same outcomes must hold.
"""

import pytest
from rest_framework.test import APIClient

from eventlog.models import Event
from tests.orders_write.conftest import (
    appends_nothing,
    assert_problem,
    item,
    order_path,
    place,
    post,
    run_in_threads,
    stream_versions,
)

RACERS = 16


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- If-Match, one request at a time ------------------------------------------------


@pytest.mark.django_db(databases=["default", "read"])
class TestIfMatch:
    def test_a_matching_version_lets_the_command_through(self, alice_client, alice_order):
        response = post(
            alice_client, order_path(alice_order, "add-item"), item(), HTTP_IF_MATCH='"1"'
        )
        assert (response.status_code, response["ETag"]) == (200, '"2"')

    def test_the_etag_of_one_command_is_the_if_match_of_the_next(self, alice_client, alice_order):
        etag = post(alice_client, order_path(alice_order, "add-item"), item("C"))["ETag"]
        response = post(
            alice_client, order_path(alice_order, "add-item"), item("D"), HTTP_IF_MATCH=etag
        )
        assert response.status_code == 200

    @pytest.mark.parametrize("stale", ['"0"', '"2"', '"999999999"'])
    def test_a_version_the_order_is_not_at_is_a_412(self, alice_client, alice_order, stale):
        with appends_nothing():
            response = post(
                alice_client, order_path(alice_order, "cancel"), {}, HTTP_IF_MATCH=stale
            )
        problem = assert_problem(response, 412, code="precondition-failed")
        assert "version 1" in problem["detail"]

    def test_a_stale_etag_is_refused_after_another_change(self, alice_client, alice_order):
        post(alice_client, order_path(alice_order, "add-item"), item("C"))
        with appends_nothing():
            response = post(
                alice_client, order_path(alice_order, "add-item"), item("D"), HTTP_IF_MATCH='"1"'
            )
        assert_problem(response, 412)

    def test_a_star_matches_any_version(self, alice_client, alice_order):
        response = post(alice_client, order_path(alice_order, "cancel"), {}, HTTP_IF_MATCH="*")
        assert response.status_code == 200

    def test_if_match_on_someone_elses_order_is_404_not_412(self, bob_client, alice_order):
        response = post(bob_client, order_path(alice_order, "cancel"), {}, HTTP_IF_MATCH='"7"')
        assert_problem(response, 404)


# --- races ---------------------------------------------------------------------------

race = pytest.mark.django_db(transaction=True, databases=["default", "read"])


@race
def test_racing_commands_without_if_match_all_succeed_with_contiguous_versions(alice):
    order_id = place(client_for(alice))

    def add(n):
        return post(client_for(alice), order_path(order_id, "add-item"), item(f"SKU-{n}"))

    responses = run_in_threads(RACERS, add)

    assert [getattr(r, "status_code", r) for r in responses] == [200] * RACERS
    assert sorted(r.json()["version"] for r in responses) == list(range(2, RACERS + 2))
    assert stream_versions(order_id) == list(range(1, RACERS + 2))
    added = Event.objects.filter(stream_id=order_id, type="ItemAdded")
    assert sorted(e.data["sku"] for e in added) == sorted(f"SKU-{n}" for n in range(RACERS))
    # Each command's total saw every line committed before it: the last total counts all.
    last = Event.objects.filter(stream_id=order_id).latest("version")
    assert last.data["total"] == f"{25.50 + RACERS:.2f}"


@race
def test_racing_commands_with_the_same_if_match_have_one_winner_and_412s(alice):
    order_id = place(client_for(alice))

    def add(n):
        return post(
            client_for(alice),
            order_path(order_id, "add-item"),
            item(f"SKU-{n}"),
            HTTP_IF_MATCH='"1"',
        )

    responses = run_in_threads(RACERS, add)

    statuses = sorted(getattr(r, "status_code", r) for r in responses)
    assert statuses == [200] + [412] * (RACERS - 1)
    for response in responses:
        if response.status_code == 412:
            assert_problem(response, 412, code="precondition-failed")
    assert stream_versions(order_id) == [1, 2]


@race
def test_racing_ship_and_cancel_leave_exactly_one_final_state(alice, staff):
    order_id = place(client_for(alice))

    def finish(n):
        if n % 2:
            return post(client_for(staff), order_path(order_id, "ship"))
        return post(client_for(alice), order_path(order_id, "cancel"))

    responses = run_in_threads(8, finish)

    statuses = sorted(getattr(r, "status_code", r) for r in responses)
    assert statuses == [200] + [409] * 7
    assert stream_versions(order_id) == [1, 2]
