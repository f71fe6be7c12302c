"""The event log in the admin is browsable by staff and read-only for everyone.

Personal fields show opened only to holders of `eventlog.view_personal_data`, as
"[forgotten]" to everyone once the customer is forgotten, "[unreadable]" if tampered with.
"""

import base64
import copy
import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from config.bootstrap import command_bus
from eventlog import store
from eventlog.models import DataKey, Event
from eventlog.personal import ENVELOPE
from orders_write import commands
from orders_write.domain.values import Line

pytestmark = pytest.mark.django_db(databases=["default", "read"])


@pytest.fixture
def event():
    store.append(
        stream_type="order",
        stream_id=uuid.uuid4(),
        expected_version=0,
        events=[store.NewEvent("OrderPlaced", {"sku": "A-1"})],
        metadata={"actor": "alice"},
    )
    return Event.objects.get()


@pytest.fixture
def superuser_client(client, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.login(username="root", password="pw")
    return client


def test_superuser_browses_and_searches_by_stream(superuser_client, event):
    listing = superuser_client.get("/admin/eventlog/event/", {"q": str(event.stream_id)})
    assert listing.status_code == 200
    assert str(event.stream_id) in listing.content.decode()
    detail = superuser_client.get(f"/admin/eventlog/event/{event.position}/change/")
    assert detail.status_code == 200
    assert "&quot;sku&quot;: &quot;A-1&quot;" in detail.content.decode()


def test_nobody_can_add_change_or_delete(superuser_client, event):
    assert superuser_client.get("/admin/eventlog/event/add/").status_code == 403
    url = f"/admin/eventlog/event/{event.position}/"
    assert superuser_client.post(url + "delete/", {"post": "yes"}).status_code == 403
    superuser_client.post(url + "change/", {"type": "Changed"})
    bulk = superuser_client.post(
        "/admin/eventlog/event/",
        {"action": "delete_selected", "_selected_action": [event.position], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert list(Event.objects.values_list("type", flat=True)) == ["OrderPlaced"]


def test_customers_are_sent_to_the_login_page(client, django_user_model, event):
    django_user_model.objects.create_user("alice", password="pw")
    client.login(username="alice", password="pw")
    response = client.get("/admin/eventlog/event/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- Personal data in the browser (DESIGN §12) ------------------------------------------

DATA_KEYS = "/admin/eventlog/datakey/"


def place_with_marker(customer: str = "alice") -> tuple[Event, str]:
    """Place an order whose address holds a unique marker; return its event and the marker."""
    marker = f"Marker-{uuid.uuid4().hex}"
    address = {"name": marker, "line1": "1 Main St", "city": "Oslo", "country": "NO"}
    order_id = uuid.uuid4()
    command = commands.PlaceOrder(
        order_id, customer, "EUR", (Line("A-1", 1, Decimal("5.00")),), address
    )
    command_bus().dispatch(command, commands.Context(commands.Actor(customer)))
    return Event.objects.get(stream_id=order_id), marker


def forget(customer: str) -> None:
    context = commands.Context(commands.Actor("stella", is_staff=True))
    command_bus().dispatch(commands.ForgetCustomer(customer), context)


def browser_for(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def event_page(browser: Client, event: Event) -> str:
    response = browser.get(f"/admin/eventlog/event/{event.position}/change/")
    assert response.status_code == 200
    return response.content.decode()


def shown(field: str, value: str) -> str:
    """Return how the page's JSON shows `"field": "value"` (HTML-escaped)."""
    return f"&quot;{field}&quot;: &quot;{value}&quot;"


@pytest.fixture
def plain_staff(make_user):
    return browser_for(make_user("stella", staff=True))


@pytest.fixture
def holder(make_user):
    """Staff holding eventlog.view_personal_data (and no other permission)."""
    user = make_user("hugo", staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_personal_data"))
    return browser_for(user)


@pytest.fixture
def root(django_user_model):
    return browser_for(django_user_model.objects.create_superuser("root", "r@example.com", "pw"))


def test_staff_without_the_permission_see_encrypted_and_never_the_address(plain_staff):
    event, marker = place_with_marker()
    assert ENVELOPE in event.data and "shipping_address" not in event.data  # sealed
    html = event_page(plain_staff, event)
    assert shown("shipping_address", "[encrypted]") in html
    assert marker not in html
    assert ENVELOPE not in html and event.data[ENVELOPE]["ciphertext"] not in html
    assert shown("customer_id", "alice") in html  # the other fields as stored


def test_staff_with_the_permission_and_superusers_see_the_address_in_clear(holder, root):
    event, marker = place_with_marker()
    for browser in (holder, root):
        html = event_page(browser, event)
        assert shown("name", marker) in html and shown("line1", "1 Main St") in html
        assert "[encrypted]" not in html and ENVELOPE not in html


def test_once_forgotten_everyone_sees_forgotten_and_the_address_is_nowhere(
    plain_staff, holder, root
):
    event, marker = place_with_marker()
    forget("alice")
    for browser in (plain_staff, holder, root):
        html = event_page(browser, event)
        assert shown("shipping_address", "[forgotten]") in html
        assert marker not in html and "[encrypted]" not in html


def test_an_event_stored_in_clear_reads_forgotten_once_its_customer_is(holder, make_user):
    make_user("carol")
    marker = f"Marker-{uuid.uuid4().hex}"
    data = {"order_id": "o-1", "customer_id": "carol", "shipping_address": {"name": marker}}
    store.append(  # as a release before sealing wrote it
        stream_type="order",
        stream_id=uuid.uuid4(),
        expected_version=0,
        events=[store.NewEvent("OrderPlaced", data)],
    )
    event = Event.objects.get(data__customer_id="carol")
    assert marker in event_page(holder, event)  # as stored: nothing to open
    forget("carol")
    html = event_page(holder, event)
    assert shown("shipping_address", "[forgotten]") in html and marker not in html


def test_a_tampered_ciphertext_reads_unreadable_and_the_page_still_answers(holder, root):
    event, marker = place_with_marker()
    # Copies of the sealed data appended to the same stream, so only the changed byte can
    # fail the tag (the envelope is bound to the event's type, stream, owner and key).
    envelope = event.data[ENVELOPE]
    sealed = base64.b64decode(envelope["ciphertext"])
    changed = bytes([sealed[0] ^ 0x01]) + sealed[1:]
    tampered = {**envelope, "ciphertext": base64.b64encode(changed).decode()}
    store.append(
        stream_type="order",
        stream_id=event.stream_id,
        expected_version=1,
        events=[
            store.NewEvent("OrderPlaced", copy.deepcopy(event.data)),
            store.NewEvent("OrderPlaced", {**event.data, ENVELOPE: tampered}),
        ],
    )
    copied, bad = Event.objects.filter(stream_id=event.stream_id, version__gt=1)
    assert shown("name", marker) in event_page(holder, copied)  # the copy itself opens
    for browser in (holder, root):
        html = event_page(browser, bad)
        assert shown("shipping_address", "[unreadable]") in html
        assert marker not in html and shown("customer_id", "alice") in html


def test_the_data_keys_are_listed_with_their_state_and_never_the_key(plain_staff):
    place_with_marker("alice")
    place_with_marker("bob")
    forget("bob")
    listing = plain_staff.get(DATA_KEYS)
    assert listing.status_code == 200
    html = listing.content.decode()
    rows = {row.owner: row for row in DataKey.objects.all()}
    assert rows["alice"].master_key_id in html
    states = dict(re.findall(r'>(\w+)</a></th><td class="field-state">(\w+)</td>', html))
    assert states == {"alice": "live", "bob": "forgotten"}
    page = plain_staff.get(f"{DATA_KEYS}{rows['alice'].key_id}/change/").content.decode()
    assert "alice" in page and "live" in page
    assert "wrapped" not in (html + page).lower()


def test_nobody_may_add_change_or_delete_a_data_key(root):
    place_with_marker("alice")
    key = DataKey.objects.get()
    before = bytes(key.wrapped)
    assert root.get(f"{DATA_KEYS}add/").status_code == 403
    assert root.post(f"{DATA_KEYS}{key.key_id}/delete/", {"post": "yes"}).status_code == 403
    root.post(f"{DATA_KEYS}{key.key_id}/change/", {"owner": "mallory", "wrapped": ""})
    root.post(
        DATA_KEYS,
        {"action": "delete_selected", "_selected_action": [str(key.key_id)], "post": "yes"},
    )
    after = DataKey.objects.get()
    assert (after.owner, bytes(after.wrapped)) == ("alice", before)
