"""Invariant 7: the admin's ship and cancel actions go through commands, never row edits.

Ship asks for a tracking number per order first; after either action the list waits
for the read model to show the change (read-your-writes) and says so when it cannot.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from eventlog import store
from eventlog.models import Event
from orders_read.models import OrderView
from orders_write import commands

from .admin_helpers import ORDERS, logged_in, messages_of
from .conftest import BOTH_DATABASES, catch_up, place, run

# Transactional: each command commits, so its post-commit nudge runs as in production.
pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)


@pytest.fixture
def staff_browser(client, staff):
    return logged_in(client, staff)


def selected(action: str, *order_ids, **more) -> dict:
    return {"action": action, "_selected_action": [str(o) for o in order_ids], **more}


def tracking(**numbers) -> dict:
    """The confirmation page's fields: {order_id: tracking number}."""
    return {f"tracking-{order_id}": number for order_id, number in numbers.items()}


@pytest.fixture
def ship(staff_browser, eager):
    """Confirm the Ship action with tracking numbers (no broker: projected after commit)."""

    def post(numbers: dict, *, url=ORDERS, follow=True, headers=None):
        data = selected("ship_selected", *numbers, post="yes")
        data.update({f"tracking-{order_id}": n for order_id, n in numbers.items()})
        return staff_browser.post(url, data, follow=follow, headers=headers or {})

    return post


@pytest.fixture
def cancel(staff_browser, eager):
    def post(*order_ids):
        return staff_browser.post(ORDERS, selected("cancel_selected", *order_ids), follow=True)

    return post


def status_of(order_id) -> str:
    return OrderView.objects.using("read").get(order_id=order_id).status


def test_ship_first_asks_for_a_tracking_number_per_open_order(staff_browser):
    first, second, closed = place("alice"), place("bob"), place("bob")
    run(commands.CancelOrder(closed), "bob")
    catch_up()
    chosen = selected("ship_selected", first, second, closed, index="0")
    response = staff_browser.post(ORDERS, chosen)
    assert response.status_code == 200
    html = response.content.decode()
    for order_id in (first, second, closed):
        assert f'name="_selected_action" value="{order_id}"' in html
    assert f'name="tracking-{first}"' in html and f'name="tracking-{second}"' in html
    assert f'name="tracking-{closed}"' not in html and "the command will refuse it" in html
    assert 'name="post" value="yes"' in html and "Ship 3 orders" in html
    assert not Event.objects.filter(type="OrderShipped").exists()  # nothing sent yet


def test_shipping_appends_events_with_the_staff_actor_and_each_tracking_number(ship):
    first, second = place("alice"), place("bob")
    catch_up()
    response = ship({first: "TRK-1", second: ""}, headers={"X-Request-ID": "admin-req-1"})
    assert messages_of(response) == ["2 shipped"]
    shipped = Event.objects.filter(type="OrderShipped").order_by("position")
    assert [e.stream_id for e in shipped] == [first, second]
    assert [e.data["tracking_number"] for e in shipped] == ["TRK-1", ""]
    for event in shipped:
        assert event.metadata["actor"] == "stella"
        assert event.metadata["command"] == "ShipOrder"
        assert event.metadata["correlation_id"] == "admin-req-1"
    # No broker: the read model is up to date once the commands have committed.
    assert status_of(first) == status_of(second) == "shipped"
    assert OrderView.objects.using("read").get(order_id=first).tracking_number == "TRK-1"
    assert "shipped" in response.content.decode()


def test_an_invalid_tracking_number_is_shown_on_the_page_and_sends_nothing(ship):
    order_id = place("alice")
    catch_up()
    response = ship({order_id: "T" * 101}, follow=False)
    assert response.status_code == 200
    assert "Please correct the errors below." in response.content.decode()
    assert "at most 100 characters" in response.content.decode()
    response = ship({order_id: "TRK\x07"}, follow=False)
    assert "Must be printable text." in response.content.decode()
    assert not Event.objects.filter(type="OrderShipped").exists()


def test_after_an_action_the_list_keeps_its_filters_and_asks_for_the_new_position(ship):
    order_id = place("alice")
    catch_up()
    response = ship({order_id: "TRK-9"}, url=ORDERS + "?status__exact=placed", follow=False)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query == {"status__exact": ["placed"], "min_position": [str(store.head_position())]}


def test_a_refused_command_is_reported_and_appends_nothing(cancel):
    shipped, open_one = place("alice"), place("bob")
    run(commands.ShipOrder(shipped), "stella", staff=True)
    catch_up()
    before = Event.objects.filter(stream_id=shipped).count()

    response = cancel(shipped, open_one)

    [message] = messages_of(response)
    assert message.startswith("1 cancelled, 1 refused: ")
    assert f"Order {shipped} is shipped" in message
    assert Event.objects.filter(stream_id=shipped).count() == before
    assert not Event.objects.filter(stream_id=shipped, type="OrderCancelled").exists()
    cancelled = Event.objects.get(stream_id=open_one, type="OrderCancelled")
    assert cancelled.metadata["actor"] == "stella"
    assert (status_of(shipped), status_of(open_one)) == ("shipped", "cancelled")


def test_the_counts_add_up_over_a_mixed_batch(ship, staff_browser):
    orders = [place("alice") for _ in range(4)]
    run(commands.CancelOrder(orders[0]), "alice")
    catch_up()
    [message] = messages_of(ship(dict.fromkeys(orders, "")))
    assert message.startswith("3 shipped, 1 refused: ")
    assert Event.objects.filter(type="OrderShipped").count() == 3
    response = ship(dict.fromkeys(orders, ""), follow=False)
    assert "min_position" not in response["Location"]  # nothing sent: nothing to wait for
    [again] = messages_of(staff_browser.get(response["Location"]))
    assert again.startswith("0 shipped, 4 refused: ")
    assert Event.objects.filter(type="OrderShipped").count() == 3


def test_customers_cannot_run_the_actions(client, alice):
    order_id = place("alice")
    catch_up()
    client.force_login(alice)
    response = client.post(ORDERS, selected("cancel_selected", order_id))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Event.objects.filter(type="OrderCancelled").exists()


def test_with_a_lagging_read_model_the_list_says_so_then_shows_the_change(
    staff_browser, no_nudge, short_wait
):
    order_id = place("alice")
    catch_up()
    # No nudge: as when the broker's worker has not got to the new events yet.
    response = staff_browser.post(ORDERS, selected("cancel_selected", order_id), follow=True)
    head = store.head_position()
    assert messages_of(response) == [
        "1 cancelled",
        f"This page may show the old state: the order read model has reached log position "
        f"{head - 1}, not yet {head} (your change). Reload it in a moment.",
    ]
    assert response.redirect_chain[-1][0] == f"{ORDERS}?min_position={head}"
    assert status_of(order_id) == "placed"  # only a projection changes the row
    catch_up()
    # Reloaded once the worker has caught up: the new state and no warning.
    reloaded = staff_browser.get(f"{ORDERS}?min_position={head}")
    assert messages_of(reloaded) == []
    row = re.search(rf"<tr>.*?{str(order_id)[:8]}.*?</tr>", reloaded.content.decode(), re.S)
    assert row and 'class="field-status">cancelled<' in row.group(0)


def test_the_list_ignores_a_malformed_min_position(staff_browser):
    response = staff_browser.get(ORDERS, {"min_position": "soon"})
    assert response.status_code == 200 and messages_of(response) == []
