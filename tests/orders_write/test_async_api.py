"""DESIGN §13: any command with `Prefer: respond-async` is stored, answered 202, run later."""

import uuid

import pytest

from eventlog.models import DataKey, Event
from orders_write.models import InboxCommand

from .conftest import (
    appends_nothing,
    assert_problem,
    item,
    order_path,
    place_body,
    post,
    stream_versions,
)
from .inbox_helpers import client_for, entry

pytestmark = pytest.mark.django_db(databases=["default", "read"])


def status_of(client, response):
    return client.get(response["Location"])


def test_an_async_command_is_stored_and_answered_202_with_its_status_url(
    alice_client, sent, post_async
):
    with appends_nothing():
        response = post_async(alice_client, "/api/orders/", place_body())
    assert response.status_code == 202
    assert response["Preference-Applied"] == "respond-async"
    body = response.json()
    assert set(body) == {"command_id", "status"} and body["status"] == "queued"
    assert response["Location"] == f"/api/commands/{body['command_id']}/"
    stored = entry(response)
    assert (stored.command_type, stored.sender, stored.status) == ("PlaceOrder", "alice", "queued")
    assert sent == [uuid.UUID(body["command_id"])]  # its task, sent after the commit


def test_prefer_is_read_as_rfc_7240_says(alice_client, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        among = post(
            alice_client, "/api/orders/", place_body(), HTTP_PREFER="wait=5, Respond-Async"
        )
        other = post(alice_client, "/api/orders/", place_body(), HTTP_PREFER="return=minimal")
    assert among.status_code == 202
    assert other.status_code == 201


def test_the_status_is_queued_with_retry_after_then_succeeded_with_the_result(
    alice_client, sent, post_async
):
    response = post_async(alice_client, "/api/orders/", place_body())
    queued = status_of(alice_client, response)
    assert queued.status_code == 200
    assert queued.json() == {"command_id": response.json()["command_id"], "status": "queued"}
    assert queued["Retry-After"] == "1"

    assert sent.run_all() == ["succeeded"]
    done = status_of(alice_client, response)
    assert "Retry-After" not in done
    event = Event.objects.get(type="OrderPlaced")
    assert done.json() == {
        "command_id": response.json()["command_id"],
        "status": "succeeded",
        "order_id": str(event.stream_id),
        "version": 1,
        "position": event.position,
    }
    # The events name the command that caused them.
    assert event.metadata["causation_id"] == response.json()["command_id"]


def test_a_running_command_answers_retry_after(alice_client, sent, post_async):
    response = post_async(alice_client, "/api/orders/", place_body())
    InboxCommand.objects.update(status="running")
    running = status_of(alice_client, response)
    assert running.json()["status"] == "running" and running["Retry-After"] == "1"


ORDER_ACTIONS = [
    ("add-item", item("C-3"), "alice", 2),
    ("change-quantity", {"sku": "A-1", "quantity": 5}, "alice", 2),
    ("remove-item", {"sku": "B-2"}, "alice", 2),
    ("cancel", {"reason": "changed my mind"}, "alice", 2),
    ("ship", {"tracking_number": "TRK-1"}, "staff", 2),
]


@pytest.mark.parametrize(("action", "body", "who", "version"), ORDER_ACTIONS)
def test_every_order_command_runs_async(
    alice_client, alice_order, staff, sent, post_async, action, body, who, version
):
    client = alice_client if who == "alice" else client_for(staff)
    response = post_async(client, order_path(alice_order, action), body)
    assert response.status_code == 202, response.content
    assert sent.run_all() == ["succeeded"]
    done = status_of(client, response).json()
    assert (done["status"], done["order_id"], done["version"]) == ("succeeded", alice_order, 2)
    assert stream_versions(alice_order) == [1, version]


def test_forget_runs_async(alice_client, alice_order, staff, sent, post_async):
    staff_client = client_for(staff)
    response = post_async(staff_client, "/api/customers/alice/forget/", {})
    assert response.status_code == 202
    assert sent.run_all() == ["succeeded"]
    done = status_of(staff_client, response).json()
    assert done["status"] == "succeeded" and done["customer_id"] == "alice"
    assert done["version"] == 1 and isinstance(done["position"], int)


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/api/orders/", place_body(currency="euro"), {}),
        ("/api/orders/", place_body(items=[]), {}),
        ("/api/orders/", place_body(), {"HTTP_IDEMPOTENCY_KEY": "bad key"}),
        ("add-item", {"sku": "", "quantity": 1, "unit_price": "1.00"}, {}),
        ("cancel", {}, {"HTTP_IF_MATCH": "three"}),
        ("/api/customers/alice/forget/", {"surprise": 1}, {}),
    ],
)
def test_an_invalid_command_is_refused_at_once_and_stores_nothing(
    alice_client, alice_order, staff, sent, post_async, path, body, headers
):
    client = client_for(staff) if "forget" in path else alice_client
    if not path.startswith("/"):
        path = order_path(alice_order, path)
    with appends_nothing():
        response = post_async(client, path, body, **headers)
    assert_problem(response, 400)
    assert not InboxCommand.objects.exists()
    assert sent == []


def sync_and_async_problems(client, path, body, sent, post_async, **headers):
    """The synchronous answer to a refused command, and the async outcome of the same."""
    synchronous = post(client, path, body, **headers)
    response = post_async(client, path, body, **headers)
    assert response.status_code == 202
    assert sent.run_all() == ["failed"]
    outcome = status_of(client, response).json()
    assert outcome["status"] == "failed"
    return synchronous.json(), outcome["problem"]


@pytest.mark.parametrize(
    ("action", "body", "status"),
    [
        ("add-item", item("A-1"), 409),  # a SKU already in the order
        ("ship", {}, 403),  # staff only
        ("cancel", {}, 412),  # If-Match names another version
    ],
)
def test_a_refused_command_fails_with_the_problem_the_synchronous_call_answers(
    alice_client, alice_order, sent, post_async, action, body, status
):
    headers = {"HTTP_IF_MATCH": '"7"'} if status == 412 else {}
    synchronous, problem = sync_and_async_problems(
        alice_client, order_path(alice_order, action), body, sent, post_async, **headers
    )
    assert synchronous["status"] == status
    assert problem == synchronous


def test_a_command_on_someone_elses_order_fails_as_not_found(alice_order, bob, sent, post_async):
    synchronous, problem = sync_and_async_problems(
        client_for(bob), order_path(alice_order, "cancel"), {}, sent, post_async
    )
    assert problem == synchronous and problem["status"] == 404


def test_staff_ordering_for_no_such_customer_fails_as_the_validation_error(staff, sent, post_async):
    body = place_body(customer_id="nobody")
    synchronous, problem = sync_and_async_problems(
        client_for(staff), "/api/orders/", body, sent, post_async
    )
    assert problem == synchronous and problem["status"] == 400
    assert "customer_id" in problem["errors"]


def test_the_status_is_its_senders_and_staffs_only(
    alice_client, bob, staff, anon_client, sent, post_async
):
    response = post_async(alice_client, "/api/orders/", place_body())
    location = response["Location"]
    assert alice_client.get(location).status_code == 200
    assert client_for(staff).get(location).status_code == 200
    assert_problem(client_for(bob).get(location), 404)
    assert_problem(anon_client.get(location), 401)
    assert_problem(alice_client.get(f"/api/commands/{uuid.uuid4()}/"), 404)
    assert_problem(alice_client.get("/api/commands/not-a-uuid/"), 404)
    unknown = assert_problem(alice_client.get(location + "?min_position=3"), 400)
    assert list(unknown["errors"]) == ["min_position"]


def test_a_retry_with_the_same_idempotency_key_gets_the_same_command(
    alice_client, sent, post_async
):
    key = {"HTTP_IDEMPOTENCY_KEY": "async-1"}
    first = post_async(alice_client, "/api/orders/", place_body(), **key)
    again = post_async(alice_client, "/api/orders/", place_body(), **key)
    assert again.status_code == 202
    assert again.json() == first.json() and again["Location"] == first["Location"]
    assert InboxCommand.objects.count() == 1 and len(sent) == 1
    sent.run_all()
    # Once it ran, a retry still names it, now succeeded; so does a synchronous retry.
    later = post_async(alice_client, "/api/orders/", place_body(), **key)
    assert later.json() == {**first.json(), "status": "succeeded"}
    synchronous = post(alice_client, "/api/orders/", place_body(), **key)
    outcome = status_of(alice_client, first).json()
    assert synchronous.status_code == 201
    assert synchronous.json() == {k: outcome[k] for k in ("order_id", "version", "position")}
    assert Event.objects.filter(type="OrderPlaced").count() == 1


def test_an_idempotency_key_reused_with_another_body_is_refused_as_synchronously(
    alice_client, sent, post_async
):
    key = {"HTTP_IDEMPOTENCY_KEY": "async-2"}
    post_async(alice_client, "/api/orders/", place_body(), **key)
    other = place_body(currency="USD")
    refused = post_async(alice_client, "/api/orders/", other, **key)
    body = assert_problem(refused, 422, code="idempotency-key-reused")
    # A synchronous key reused for an async request is refused the same way.
    post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY="sync-1")
    crossed = post_async(alice_client, "/api/orders/", other, HTTP_IDEMPOTENCY_KEY="sync-1")
    assert assert_problem(crossed, 422) == body
    assert InboxCommand.objects.count() == 1


def test_the_embedded_default_runs_the_command_right_after_the_commit(
    alice_client, eager, post_async
):
    """No broker: the task runs eagerly after the request commits; still a 202."""
    response = post_async(alice_client, "/api/orders/", place_body())
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert status_of(alice_client, response).json()["status"] == "succeeded"


def test_an_async_retry_of_a_synchronous_request_replays_its_outcome(
    alice_client, sent, post_async
):
    key = {"HTTP_IDEMPOTENCY_KEY": "sync-then-async"}
    synchronous = post(alice_client, "/api/orders/", place_body(), **key)
    response = post_async(alice_client, "/api/orders/", place_body(), **key)
    assert response.status_code == 202
    with appends_nothing():
        assert sent.run_all() == ["succeeded"]
    outcome = status_of(alice_client, response).json()
    assert {k: outcome[k] for k in ("order_id", "version", "position")} == synchronous.json()


def test_a_customer_ordering_for_another_is_refused_at_once_as_synchronously(
    alice_client, bob, staff, sent, post_async
):
    """Refused before anything is sealed: no data key is made, or tested, for bob by alice
    (a forgotten bob would otherwise answer 409 and tell her so)."""
    body = place_body(customer_id=bob.username)
    body["shipping_address"] = {"name": "Bob", "line1": "1 rue X", "city": "Lyon", "country": "FR"}
    synchronous = post(alice_client, "/api/orders/", body)
    response = post_async(alice_client, "/api/orders/", body)
    assert_problem(response, 403)
    assert response.json() == synchronous.json()
    assert not InboxCommand.objects.exists() and sent == []
    assert not DataKey.objects.filter(owner=bob.username).exists()
