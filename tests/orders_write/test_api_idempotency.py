"""Idempotency-Key: the first outcome is stored with the events and replayed, never redone."""

import json

import pytest
from rest_framework.test import APIClient

from eventlog.models import Event
from orders_write.models import IdempotencyRecord
from tests.orders_write.conftest import (
    appends_nothing,
    assert_problem,
    item,
    order_path,
    place_body,
    post,
    run_in_threads,
    stream_versions,
)

KEY = "order-2026-11-23-0001"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def same_answer(first, second) -> None:
    assert second.status_code == first.status_code
    assert second.json() == first.json()
    for header in ("ETag", "Location", "Content-Type"):
        assert second.get(header) == first.get(header), header


@pytest.mark.django_db(databases=["default", "read"])
class TestOneRequestAtATime:
    def test_a_retried_place_order_gets_the_same_answer_and_appends_nothing(self, alice_client):
        first = post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY=KEY)
        assert first.status_code == 201
        with appends_nothing():
            again = post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY=KEY)
        same_answer(first, again)
        assert Event.objects.filter(type="OrderPlaced").count() == 1

    def test_the_same_body_with_other_formatting_or_key_order_is_the_same_request(
        self, alice_client
    ):
        body = place_body()
        first = post(alice_client, "/api/orders/", body, HTTP_IDEMPOTENCY_KEY=KEY)
        reordered = json.dumps(dict(reversed(body.items())), indent=2).encode()
        with appends_nothing():
            again = post(alice_client, "/api/orders/", raw=reordered, HTTP_IDEMPOTENCY_KEY=KEY)
        same_answer(first, again)

    def test_a_replay_answers_what_happened_then_not_the_current_version(
        self, alice_client, alice_order
    ):
        path = order_path(alice_order, "add-item")
        first = post(alice_client, path, item("C"), HTTP_IDEMPOTENCY_KEY=KEY)
        post(alice_client, path, item("D"))
        with appends_nothing():
            again = post(alice_client, path, item("C"), HTTP_IDEMPOTENCY_KEY=KEY)
        same_answer(first, again)
        assert again.json()["version"] == 2

    def test_the_same_key_with_another_body_is_a_422(self, alice_client):
        post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY=KEY)
        with appends_nothing():
            response = post(
                alice_client, "/api/orders/", place_body(currency="USD"), HTTP_IDEMPOTENCY_KEY=KEY
            )
        assert_problem(response, 422, code="idempotency-key-reused")

    def test_the_same_key_on_another_endpoint_is_a_422(self, alice_client, alice_order):
        post(alice_client, order_path(alice_order, "cancel"), {}, HTTP_IDEMPOTENCY_KEY=KEY)
        with appends_nothing():
            response = post(
                alice_client, order_path(alice_order, "ship"), {}, HTTP_IDEMPOTENCY_KEY=KEY
            )
        assert_problem(response, 422)

    def test_the_same_key_on_another_order_is_a_422(self, alice_client, alice_order):
        other = post(alice_client, "/api/orders/", place_body()).json()["order_id"]
        post(alice_client, order_path(alice_order, "cancel"), {}, HTTP_IDEMPOTENCY_KEY=KEY)
        with appends_nothing():
            response = post(alice_client, order_path(other, "cancel"), {}, HTTP_IDEMPOTENCY_KEY=KEY)
        assert_problem(response, 422)

    def test_keys_are_scoped_per_user(self, alice_client, bob_client):
        alices = post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY=KEY)
        bobs = post(bob_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY=KEY)
        assert (alices.status_code, bobs.status_code) == (201, 201)
        assert alices.json()["order_id"] != bobs.json()["order_id"]
        placed = Event.objects.filter(type="OrderPlaced")
        assert sorted(e.data["customer_id"] for e in placed) == ["alice", "bob"]

    def test_a_refusal_is_replayed_even_after_the_order_changed(self, alice_client, alice_order):
        path = order_path(alice_order, "change-quantity")
        body = {"sku": "A-1", "quantity": 2}
        first = post(alice_client, path, body, HTTP_IDEMPOTENCY_KEY=KEY)
        assert_problem(first, 409, code="quantity-unchanged")
        post(alice_client, path, {"sku": "A-1", "quantity": 5})  # now the same body would work
        with appends_nothing():
            again = post(alice_client, path, body, HTTP_IDEMPOTENCY_KEY=KEY)
        same_answer(first, again)

    def test_an_invalid_request_does_not_use_up_its_key(self, alice_client):
        with appends_nothing():
            bad = post(alice_client, "/api/orders/", place_body(items=[]), HTTP_IDEMPOTENCY_KEY=KEY)
        assert bad.status_code == 400
        good = post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY=KEY)
        assert good.status_code == 201

    def test_a_forbidden_request_stores_no_outcome(self, alice_client, alice_order):
        with appends_nothing():
            response = post(
                alice_client, order_path(alice_order, "ship"), {}, HTTP_IDEMPOTENCY_KEY=KEY
            )
        assert response.status_code == 403
        assert not IdempotencyRecord.objects.exists()

    def test_the_outcome_is_stored_with_the_events(self, alice_client):
        response = post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY=KEY)
        record = IdempotencyRecord.objects.get()
        assert record.key == KEY
        assert record.outcome["result"]["order_id"] == response.json()["order_id"]
        event = Event.objects.get()
        assert event.metadata["idempotency_key"] == KEY


# --- racing duplicates -----------------------------------------------------------------

race = pytest.mark.django_db(transaction=True, databases=["default", "read"])
DUPLICATES = 8


@race
def test_racing_duplicates_of_a_place_order_create_one_order_and_get_one_answer(alice):
    def send(n):
        return post(client_for(alice), "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY=KEY)

    responses = run_in_threads(DUPLICATES, send)

    statuses = [getattr(r, "status_code", r) for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    assert created, statuses
    assert len({json.dumps(r.json(), sort_keys=True) for r in created}) == 1
    assert len({r["Location"] for r in created}) == 1
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409)
    assert Event.objects.filter(type="OrderPlaced").count() == 1
    assert IdempotencyRecord.objects.count() == 1


@race
def test_racing_duplicates_with_if_match_all_get_the_first_answer_not_412(alice):
    order_id = post(client_for(alice), "/api/orders/", place_body()).json()["order_id"]

    def send(n):
        return post(
            client_for(alice),
            order_path(order_id, "add-item"),
            item("C"),
            HTTP_IDEMPOTENCY_KEY=KEY,
            HTTP_IF_MATCH='"1"',
        )

    responses = run_in_threads(DUPLICATES, send)

    statuses = [getattr(r, "status_code", r) for r in responses]
    assert set(statuses) <= {200, 409}, statuses
    assert (
        len({json.dumps(r.json(), sort_keys=True) for r in responses if r.status_code == 200}) == 1
    )
    assert stream_versions(order_id) == [1, 2]


@race
def test_racing_duplicates_of_a_refused_command_all_get_the_same_409(alice):
    order_id = post(client_for(alice), "/api/orders/", place_body()).json()["order_id"]

    def send(n):
        return post(
            client_for(alice),
            order_path(order_id, "remove-item"),
            {"sku": "NOPE"},
            HTTP_IDEMPOTENCY_KEY=KEY,
        )

    responses = run_in_threads(DUPLICATES, send)

    bodies = {json.dumps(assert_problem(r, 409), sort_keys=True) for r in responses}
    assert len(bodies) == 1
    assert stream_versions(order_id) == [1]


@race
def test_racing_requests_with_one_key_and_two_bodies_create_one_order_the_rest_get_422(alice):
    bodies = [place_body(), place_body(currency="USD")]

    def send(n):
        return post(client_for(alice), "/api/orders/", bodies[n % 2], HTTP_IDEMPOTENCY_KEY=KEY)

    responses = run_in_threads(DUPLICATES, send)

    by_body = [{getattr(r, "status_code", r) for r in responses[n::2]} for n in (0, 1)]
    assert sorted(map(sorted, by_body)) == [[201], [422]], by_body
    assert Event.objects.filter(type="OrderPlaced").count() == 1
