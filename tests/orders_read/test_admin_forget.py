"""Forgetting customers from the admin: a confirmation first, then ForgetCustomer each.

Forgetting cannot be undone, so the action only shows what it would do until the
confirmation is posted. Afterwards the list waits for the order read model (read your
writes), whose orders of the customer show "[forgotten]" for their address.
"""

from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest

from eventlog import store
from eventlog.models import DataKey, Event
from orders_read.models import OrderView

from .admin_helpers import CUSTOMERS, EVENTS, ORDERS, logged_in, messages_of
from .conftest import BOTH_DATABASES, catch_up, line, place

# Transactional: each command commits, so its post-commit nudge runs as in production.
pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)

ACTION = "forget_selected"


@pytest.fixture
def staff_browser(client, staff):
    return logged_in(client, staff)


@pytest.fixture
def marked_order():
    """Place an order for alice whose address holds a unique marker: (order id, marker)."""
    marker = f"Marker-{uuid4().hex}"
    address = {"name": marker, "line1": "1 Main St", "city": "Oslo", "country": "NO"}
    order_id = place("alice", line("A-1"), shipping_address=address)
    catch_up()
    return order_id, marker


def selected(*customer_ids, **more) -> dict:
    return {"action": ACTION, "_selected_action": list(customer_ids), **more}


def forgotten_events() -> list[Event]:
    return list(Event.objects.filter(type="CustomerForgotten"))


def test_staff_are_offered_the_action(staff_browser, marked_order):
    html = staff_browser.get(CUSTOMERS).content.decode()
    assert f'<option value="{ACTION}">Forget selected customers…</option>' in html


def test_the_action_first_asks_for_confirmation_and_forgets_nothing(staff_browser, marked_order):
    place("bob")
    catch_up()
    response = staff_browser.post(CUSTOMERS, selected("alice", "bob", index="0"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Forget 2 customers?" in html and "This cannot be undone." in html
    assert "What is destroyed" in html and "What stays" in html
    for customer in ("alice", "bob"):
        assert f'name="_selected_action" value="{customer}"' in html
    assert 'name="post" value="yes"' in html and 'value="Yes, forget 2 customers"' in html
    assert forgotten_events() == []
    assert not DataKey.objects.filter(wrapped__isnull=True).exists()


def test_confirming_forgets_each_customer_as_the_staff_member(staff_browser, marked_order, eager):
    order_id, marker = marked_order
    page = f"{ORDERS}{order_id}/change/"
    assert marker in staff_browser.get(page).content.decode()  # readable until forgotten

    response = staff_browser.post(CUSTOMERS, selected("alice", post="yes"), follow=True)

    assert messages_of(response) == ["1 forgotten"]
    [event] = forgotten_events()
    assert event.data["customer_id"] == "alice" and event.metadata["actor"] == "stella"
    assert event.metadata["command"] == "ForgetCustomer"
    # The list asked for the new position, so the order read model has the event.
    [(location, _)] = response.redirect_chain
    assert parse_qs(urlsplit(location).query) == {"min_position": [str(store.head_position())]}
    assert OrderView.objects.using("read").get(order_id=order_id).redacted
    html = staff_browser.get(page).content.decode()
    assert "[forgotten]" in html and "(none)" not in html
    assert marker not in html
    history = staff_browser.get(f"{EVENTS}{Event.objects.get(stream_id=order_id).pk}/change/")
    assert "[forgotten]" in history.content.decode()
    assert marker not in history.content.decode()


def test_forgetting_again_reports_the_refusal_and_records_nothing(staff_browser, marked_order):
    staff_browser.post(CUSTOMERS, selected("alice", post="yes"))
    confirm = staff_browser.post(CUSTOMERS, selected("alice"))
    assert "already forgotten: the command will refuse it" in confirm.content.decode()

    response = staff_browser.post(CUSTOMERS, selected("alice", post="yes"), follow=True)

    assert response.status_code == 200
    assert messages_of(response) == ["0 forgotten, 1 refused: Customer alice is already forgotten."]
    assert len(forgotten_events()) == 1


def test_customers_cannot_run_the_action(client, alice, marked_order):
    client.force_login(alice)
    response = client.post(CUSTOMERS, selected("alice", post="yes"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert forgotten_events() == []
