"""DESIGN §12: personal data is sealed in the log, opened for answers, and forgotten for good.

Each address carries a marker string no other value holds, so "is it anywhere?" is a
plain search: of every row of every table of both databases, and of every API answer.
"""

import base64
import json
from io import StringIO
from uuid import UUID, uuid4

import pytest
from django.core.management import call_command
from django.db import connections

from config import bootstrap
from eventlog import store
from eventlog.personal import ENVELOPE
from orders_read.models import OrderView, ParkedStream
from orders_write import commands

from .conftest import BOTH_DATABASES, catch_up, line, place, run

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


def address(marker: str) -> dict[str, str]:
    return {"name": f"Ada {marker}", "line1": f"{marker} Street 1", "city": "Oslo", "country": "NO"}


def everything_stored(alias: str) -> str:
    """Every row of every table of the database, as text."""
    connection = connections[alias]
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            if connection.vendor == "postgresql":
                cursor.execute(f"SELECT t::text FROM {quoted} t")
            else:
                cursor.execute(f"SELECT * FROM {quoted}")
            found.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(found)


def stored_anywhere(marker: str) -> list[str]:
    return [alias for alias in BOTH_DATABASES if marker in everything_stored(alias)]


def answers(client, customer: str, order_ids: list[UUID]) -> str:
    """Every API answer about the customer and their orders, as text."""
    paths = [f"/api/customers/{customer}/", f"/api/customers/{customer}/orders/", "/api/orders/"]
    paths += [f"/api/customers/{customer}/export/"]
    for order_id in order_ids:
        paths += [f"/api/orders/{order_id}/", f"/api/orders/{order_id}/history/"]
        paths += [f"/api/orders/{order_id}/?as_of=2100-01-01T00:00:00Z"]
    texts = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.content)
        texts.append(response.content.decode())
    return "\n".join(texts)


@pytest.fixture
def orders(alice, bob):
    """Alice's two orders and Bob's one, each address with its own marker."""
    return {
        "alice": [
            place("alice", line("A-1"), shipping_address=address("MARKER-alice-1")),
            place("alice", line("B-2"), shipping_address=address("MARKER-alice-2")),
        ],
        "bob": [place("bob", line("A-1"), shipping_address=address("MARKER-bob-1"))],
    }


def forget(client, customer: str):
    return client.post(f"/api/customers/{customer}/forget/", {}, format="json")


def test_the_log_holds_no_personal_value_in_clear(orders):
    rows = store.read_all(0, 1000)
    assert [e.type for e in rows] == ["OrderPlaced"] * 3
    for event in rows:
        assert ENVELOPE in event.data
        text = json.dumps(event.data) + json.dumps(event.metadata)
        assert "MARKER" not in text and "Ada" not in text
    assert "MARKER" not in everything_stored("default")


def test_answers_show_the_address_to_the_customer_and_staff(orders, alice_client, staff_client):
    catch_up()
    order_id = orders["alice"][0]
    for client in (alice_client, staff_client):
        body = client.get(f"/api/orders/{order_id}/").json()
        assert body["shipping_address"]["name"] == "Ada MARKER-alice-1"
        assert body["redacted"] is False
        history = client.get(f"/api/orders/{order_id}/history/").json()
        assert history[0]["data"]["shipping_address"]["line1"] == "MARKER-alice-1 Street 1"
    assert "MARKER-alice-1" in answers(alice_client, "alice", orders["alice"])


def test_forget_redacts_everywhere_and_keeps_the_financial_record(
    orders, staff_client, alice_client, bob_client
):
    catch_up()
    before = {o.order_id: o for o in OrderView.objects.using("read").all()}
    response = forget(staff_client, "alice")
    assert response.status_code == 200, response.content
    assert response.json()["customer_id"] == "alice"
    catch_up()

    for order_id in orders["alice"]:
        body = alice_client.get(f"/api/orders/{order_id}/").json()
        assert (body["shipping_address"], body["redacted"]) == (None, True)
        # Orders, amounts and dates stay.
        kept = before[order_id]
        assert (body["total"], body["items"][0]["sku"]) == (str(kept.total), kept.items[0]["sku"])
        assert body["placed_at"].replace("Z", "+00:00") == kept.placed_at.isoformat()
        [placed] = alice_client.get(f"/api/orders/{order_id}/history/").json()
        assert placed["data"]["shipping_address"] is None
        assert placed["data"]["redacted"] is True
    for client in (alice_client, staff_client):
        assert "MARKER-alice" not in answers(client, "alice", orders["alice"])
    assert stored_anywhere("MARKER-alice") == []
    # Bob is untouched.
    assert "MARKER-bob-1" in answers(bob_client, "bob", orders["bob"])


def test_a_rebuild_and_a_verify_after_forgetting_give_the_same_redacted_rows(orders, staff_client):
    catch_up()
    forget(staff_client, "alice")
    catch_up()
    live = {o.order_id: (o.shipping_address, o.redacted) for o in OrderView.objects.using("read")}
    call_command("rebuild_projections", "order_view", "--no-progress", stdout=StringIO())
    rebuilt = {
        o.order_id: (o.shipping_address, o.redacted) for o in OrderView.objects.using("read")
    }
    assert rebuilt == live
    assert [rebuilt[order_id] for order_id in orders["alice"]] == [({}, True)] * 2
    out = StringIO()
    call_command("verify_projections", "order_view", "--no-progress", stdout=out)
    assert "differ" not in out.getvalue().lower(), out.getvalue()
    assert stored_anywhere("MARKER-alice") == []


def test_an_order_placed_after_a_forget_but_projected_late_is_redacted_too(alice, staff_client):
    order_id = place("alice", line("A-1"), shipping_address=address("MARKER-late"))
    forget(staff_client, "alice")  # before any projection ran
    catch_up()
    row = OrderView.objects.using("read").get(order_id=order_id)
    assert (row.shipping_address, row.redacted) == ({}, True)


def test_forgetting_twice_is_a_409_and_an_unknown_customer_a_404(orders, staff_client):
    assert forget(staff_client, "alice").status_code == 200
    again = forget(staff_client, "alice")
    assert again.status_code == 409
    assert again.json()["type"].endswith("customer-already-forgotten")
    nobody = forget(staff_client, "nobody-at-all")
    assert (nobody.status_code, nobody["Content-Type"]) == (404, "application/problem+json")


def test_a_customer_with_an_account_but_no_orders_can_be_forgotten(carol, staff_client):
    assert forget(staff_client, "carol").status_code == 200
    refused = staff_client.post(
        "/api/orders/",
        {
            "customer_id": "carol",
            "currency": "EUR",
            "items": [{"sku": "A-1", "quantity": 1, "unit_price": "1.00"}],
            "shipping_address": address("MARKER-carol"),
        },
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("customer-forgotten")
    assert stored_anywhere("MARKER-carol") == []


def test_only_staff_may_forget_and_a_refusal_writes_nothing(orders, alice_client):
    head = store.head_position()
    response = forget(alice_client, "alice")
    assert response.status_code == 403
    assert store.head_position() == head


def test_the_export_is_a_file_of_the_customers_orders_and_events(orders, alice_client):
    catch_up()
    response = alice_client.get("/api/customers/alice/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="alice-export.json"'
    export = response.json()
    assert export["customer_id"] == "alice" and export["forgotten"] is False
    assert {o["order_id"] for o in export["orders"]} == {str(o) for o in orders["alice"]}
    assert [e["type"] for e in export["events"]] == ["OrderPlaced", "OrderPlaced"]
    names = [e["data"]["shipping_address"]["name"] for e in export["events"]]
    assert names == ["Ada MARKER-alice-1", "Ada MARKER-alice-2"]
    assert "MARKER-bob" not in response.content.decode()


def test_the_export_after_a_forget_says_so_and_holds_nothing_personal(
    orders, staff_client, alice_client
):
    catch_up()
    forget(staff_client, "alice")
    catch_up()
    export = alice_client.get("/api/customers/alice/export/").json()
    assert export["forgotten"] is True
    assert [e["type"] for e in export["events"]][-1] == "CustomerForgotten"
    assert "MARKER" not in json.dumps(export)


def test_the_export_is_for_that_customer_or_staff(orders, bob_client, staff_client):
    catch_up()  # the orders it lists are the read model's (`min_position` waits for them)
    assert bob_client.get("/api/customers/alice/export/").status_code == 404
    assert staff_client.get("/api/customers/alice/export/").status_code == 200
    assert staff_client.get("/api/customers/nobody-at-all/export/").status_code == 404


def test_a_tampered_ciphertext_parks_its_stream_and_the_rest_flows(orders, staff_client, no_nudge):
    catch_up()
    genuine = store.read_stream(orders["bob"][0])[0]
    envelope = dict(genuine.data[ENVELOPE])
    ciphertext = bytearray(base64.b64decode(envelope["ciphertext"]))
    ciphertext[3] ^= 0x01
    envelope["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    # A forged row: the copy of Bob's sealed data, one bit changed, as a new order's event.
    forged = uuid4()
    store.append(
        stream_type="order",
        stream_id=forged,
        expected_version=0,
        events=[store.NewEvent("OrderPlaced", {**genuine.data, ENVELOPE: envelope}, 2)],
    )
    later = place("bob", line("C-3"), shipping_address=address("MARKER-bob-2"))
    catch_up()
    parked = ParkedStream.objects.using("read").get(projection="order_view")
    assert parked.stream_id == forged and "GCM tag" in parked.error
    assert OrderView.objects.using("read").filter(order_id=later).exists()
    history = staff_client.get(f"/api/orders/{forged}/history/")
    assert history.status_code == 200
    assert history.json()[0]["data"]["unreadable"] is True
    # The projections that read no personal data never open it: they do not park.
    assert not ParkedStream.objects.using("read").exclude(projection="order_view").exists()


def test_the_write_side_needs_no_key_to_decide(orders, staff_client):
    """The aggregate keeps no personal data: commands on a forgotten customer's orders run."""
    forget(staff_client, "alice")
    order_id = orders["alice"][0]
    result = run(commands.ShipOrder(order_id, tracking_number="T-1"), "stella", staff=True)
    assert result.version == 2


def marked_order(marker: str) -> dict:
    items = [{"sku": "A-1", "quantity": 1, "unit_price": "1.00"}]
    return {"currency": "EUR", "items": items, "shipping_address": address(marker)}


def place_async(client, marker: str, django_capture_on_commit_callbacks, monkeypatch):
    """Send an async PlaceOrder with a marked address; its task is not run. Return its URL."""
    monkeypatch.setattr("config.bootstrap.enqueue_command_run", lambda command_id: None)
    body = marked_order(marker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/orders/", body, format="json", HTTP_PREFER="respond-async")
    assert response.status_code == 202, response.content
    return response["Location"], response.json()["command_id"]


def test_the_command_inbox_holds_no_personal_value_in_clear(
    alice, alice_client, django_capture_on_commit_callbacks, monkeypatch
):
    location, command_id = place_async(
        alice_client, "MARKER-inbox", django_capture_on_commit_callbacks, monkeypatch
    )
    assert stored_anywhere("MARKER-inbox") == []  # queued: sealed in the inbox
    assert bootstrap.command_runner().run(UUID(command_id)) == "succeeded"
    assert stored_anywhere("MARKER-inbox") == []  # ran: sealed in the log too
    order_id = alice_client.get(location).json()["order_id"]
    catch_up()
    body = alice_client.get(f"/api/orders/{order_id}/").json()
    assert body["shipping_address"]["name"] == "Ada MARKER-inbox"  # opened for the run


def test_forgetting_a_customer_shreds_their_queued_commands(
    alice, alice_client, staff_client, django_capture_on_commit_callbacks, monkeypatch
):
    place("alice", line("B-2"), shipping_address=address("MARKER-first"))  # alice has a data key
    location, command_id = place_async(
        alice_client, "MARKER-queued", django_capture_on_commit_callbacks, monkeypatch
    )
    assert forget(staff_client, "alice").status_code == 200
    # Still queued, its address now unreadable: the run refuses it as the synchronous
    # command would have (nothing new is recorded with a forgotten customer's data).
    assert bootstrap.command_runner().run(UUID(command_id)) == "failed"
    problem = alice_client.get(location).json()["problem"]
    assert (problem["status"], problem["type"]) == (409, "urn:ordinal:problem:customer-forgotten")
    synchronous = alice_client.post("/api/orders/", marked_order("MARKER-sync"), format="json")
    assert synchronous.json() == problem
    assert stored_anywhere("MARKER-queued") == []
