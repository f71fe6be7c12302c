"""Invariant 7: the admin's ship and cancel actions go through commands, never row edits."""

import pytest

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


@pytest.fixture
def act(staff_browser, eager):
    """POST an admin action on some orders; no broker, so projections run after commit."""

    def post(action: str, *order_ids, headers=None):
        return staff_browser.post(
            ORDERS,
            {"action": action, "_selected_action": [str(o) for o in order_ids]},
            follow=True,
            headers=headers or {},
        )

    return post


def status_of(order_id) -> str:
    return OrderView.objects.using("read").get(order_id=order_id).status


def test_shipping_appends_events_with_the_staff_actor(act):
    first, second = place("alice"), place("bob")
    catch_up()
    response = act("ship_selected", first, second, headers={"X-Request-ID": "admin-req-1"})
    assert messages_of(response) == ["2 shipped"]
    shipped = Event.objects.filter(type="OrderShipped").order_by("position")
    assert [e.stream_id for e in shipped] == [first, second]
    for event in shipped:
        assert event.metadata["actor"] == "stella"
        assert event.metadata["command"] == "ShipOrder"
        assert event.metadata["correlation_id"] == "admin-req-1"
    # No broker: the read model is up to date once the commands have committed.
    assert status_of(first) == status_of(second) == "shipped"
    assert "shipped" in response.content.decode()


def test_a_refused_command_is_reported_and_appends_nothing(act):
    shipped, open_one = place("alice"), place("bob")
    run(commands.ShipOrder(shipped), "stella", staff=True)
    catch_up()
    before = Event.objects.filter(stream_id=shipped).count()

    response = act("cancel_selected", shipped, open_one)

    [message] = messages_of(response)
    assert message.startswith("1 cancelled, 1 refused: ")
    assert f"Order {shipped} is shipped" in message
    assert Event.objects.filter(stream_id=shipped).count() == before
    assert not Event.objects.filter(stream_id=shipped, type="OrderCancelled").exists()
    cancelled = Event.objects.get(stream_id=open_one, type="OrderCancelled")
    assert cancelled.metadata["actor"] == "stella"
    assert (status_of(shipped), status_of(open_one)) == ("shipped", "cancelled")


def test_the_counts_add_up_over_a_mixed_batch(act):
    orders = [place("alice") for _ in range(4)]
    run(commands.CancelOrder(orders[0]), "alice")
    catch_up()
    [message] = messages_of(act("ship_selected", *orders))
    assert message.startswith("3 shipped, 1 refused: ")
    assert Event.objects.filter(type="OrderShipped").count() == 3
    [again] = messages_of(act("ship_selected", *orders))
    assert again.startswith("0 shipped, 4 refused: ")
    assert Event.objects.filter(type="OrderShipped").count() == 3


def test_customers_cannot_run_the_actions(client, alice):
    order_id = place("alice")
    catch_up()
    client.force_login(alice)
    response = client.post(ORDERS, {"action": "cancel_selected", "_selected_action": [order_id]})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Event.objects.filter(type="OrderCancelled").exists()


def test_with_a_lagging_read_model_the_list_says_so_and_changes_only_by_projection(
    staff_browser, no_nudge
):
    order_id = place("alice")
    catch_up()
    # No nudge: as when the broker's worker has not got to the new events yet.
    response = staff_browser.post(
        ORDERS, {"action": "ship_selected", "_selected_action": [str(order_id)]}, follow=True
    )
    assert messages_of(response) == [
        "1 shipped",
        "The list may show the old status for a moment: the read model is catching up.",
    ]
    assert status_of(order_id) == "placed"
    catch_up()
    assert status_of(order_id) == "shipped"
