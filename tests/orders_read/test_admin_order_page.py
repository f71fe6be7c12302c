"""The admin's order page: its items as a table, and Ship and Cancel buttons (commands)."""

import re
from decimal import Decimal

import pytest

from eventlog import store
from eventlog.models import Event
from orders_read.models import OrderView
from orders_write import commands

from .admin_helpers import ADMIN, ORDERS, logged_in, messages_of
from .conftest import BOTH_DATABASES, catch_up, line, place, run

# Transactional: each command commits, so its post-commit nudge runs as in production.
pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)


@pytest.fixture
def staff_browser(client, staff):
    return logged_in(client, staff)


@pytest.fixture
def order_id(alice):
    order_id = place("alice", line("A-1", 2, "10.00"), line("B-2", 1, "5.50"))
    catch_up()
    return order_id


def page(order_id) -> str:
    return f"{ORDERS}{order_id}/change/"


def cells(html: str, table_class: str) -> list[list[str]]:
    """Return the text of each row's cells of the first table of that class."""
    table = re.search(rf'<table class="{table_class}">(.*?)</table>', html, re.S).group(1)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]


def test_the_items_are_a_table_with_the_total(staff_browser, order_id):
    html = staff_browser.get(page(order_id)).content.decode()
    assert cells(html, "ordinal-items") == [
        ["SKU", "Quantity", "Unit price (EUR)", "Line total (EUR)"],
        ["A-1", "2", "10.00", "20.00"],
        ["B-2", "1", "5.50", "5.50"],
        ["Total", "25.50"],
    ]


def test_an_open_order_has_ship_and_cancel_forms(staff_browser, order_id):
    html = staff_browser.get(page(order_id)).content.decode()
    assert f'action="{ORDERS}{order_id}/ship/"' in html and 'name="tracking_number"' in html
    assert f'action="{ORDERS}{order_id}/cancel/"' in html and 'name="reason"' in html
    # The forms are not inside the change form (a form in a form is not sent).
    main = re.search(r'<form [^>]*id="orderview_form".*?</form>', html, re.S).group(0)
    assert "ship-form" not in main and "cancel-form" not in main


def test_ship_sends_the_command_with_the_tracking_number_and_shows_the_result(
    staff_browser, order_id, eager
):
    response = staff_browser.post(
        f"{ORDERS}{order_id}/ship/", {"tracking_number": " TRK-42 "}, follow=True
    )
    event = Event.objects.get(stream_id=order_id, type="OrderShipped")
    assert event.data["tracking_number"] == "TRK-42"
    assert (event.metadata["actor"], event.metadata["command"]) == ("stella", "ShipOrder")
    # Back on the order page, which waited for the read model to have the event.
    assert response.redirect_chain == [(f"{page(order_id)}?min_position={event.position}", 302)]
    assert messages_of(response) == [f"Order {order_id} shipped."]
    shown = response.context["original"]
    assert (shown.status, shown.tracking_number) == ("shipped", "TRK-42")
    html = response.content.decode()
    assert 'id="ship-form"' not in html and 'id="cancel-form"' not in html  # final now


def test_cancel_sends_the_reason_given_or_says_staff_did_it(staff_browser, order_id, eager):
    other = place("alice", line("C-3"))
    staff_browser.post(f"{ORDERS}{order_id}/cancel/", {"reason": "out of stock"})
    staff_browser.post(f"{ORDERS}{other}/cancel/", {"reason": ""})
    reasons = {e.stream_id: e.data["reason"] for e in Event.objects.filter(type="OrderCancelled")}
    assert reasons == {
        order_id: "out of stock",
        other: "cancelled by staff (stella) in the admin",
    }
    assert OrderView.objects.using("read").get(order_id=order_id).status == "cancelled"


def test_a_refused_command_is_reported_and_appends_nothing(staff_browser, order_id, eager):
    run(commands.ShipOrder(order_id), "stella", staff=True)
    catch_up()
    head = store.head_position()
    response = staff_browser.post(f"{ORDERS}{order_id}/cancel/", {"reason": "x"}, follow=True)
    assert messages_of(response) == [f"Order {order_id} is shipped; only placed orders can change."]
    assert response.redirect_chain == [(page(order_id), 302)]  # nothing to wait for
    assert store.head_position() == head


def test_an_invalid_tracking_number_sends_nothing(staff_browser, order_id):
    response = staff_browser.post(
        f"{ORDERS}{order_id}/ship/", {"tracking_number": "T" * 101}, follow=True
    )
    [message] = messages_of(response)
    assert message.startswith("tracking number: Ensure this value has at most 100 characters")
    assert not Event.objects.filter(type="OrderShipped").exists()


def test_the_buttons_take_only_a_post_from_staff(client, staff_browser, order_id, alice):
    assert staff_browser.get(f"{ORDERS}{order_id}/ship/").status_code == 405
    client.force_login(alice)
    response = client.post(f"{ORDERS}{order_id}/cancel/", {"reason": "mine"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Event.objects.filter(type="OrderCancelled").exists()


def test_a_lagging_read_model_is_named_on_the_order_page(
    staff_browser, order_id, no_nudge, short_wait
):
    response = staff_browser.post(f"{ORDERS}{order_id}/ship/", {"tracking_number": ""}, follow=True)
    [done, behind] = messages_of(response)
    assert done == f"Order {order_id} shipped."
    assert behind.startswith("This page may show the old state: the order read model has ")
    assert response.context["original"].status == "placed"


def test_view_site_opens_the_api(staff_browser):
    html = staff_browser.get(ADMIN).content.decode()
    assert re.search(r'<a href="/api/">View site</a>', html)


def test_an_order_with_decimal_prices_keeps_its_cents(staff_browser, alice):
    order_id = place("alice", line("A-1", 3, "0.10"))
    run(commands.AddItem(order_id, "B-2", 1, Decimal("1.5")))
    catch_up()
    rows = cells(staff_browser.get(page(order_id)).content.decode(), "ordinal-items")
    assert rows[1:] == [
        ["A-1", "3", "0.10", "0.30"],
        ["B-2", "1", "1.50", "1.50"],
        ["Total", "1.80"],
    ]
