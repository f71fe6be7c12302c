"""The admin order page's "state at" picker shows the order as it was at an instant."""

from datetime import timedelta
from decimal import Decimal

import pytest

from eventlog.models import Event
from orders_write import commands

from .admin_helpers import ORDERS, logged_in, messages_of
from .conftest import BOTH_DATABASES, catch_up, line, place, run

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


@pytest.fixture
def order(alice):
    order_id = place("alice", line("A-1", 2, "10.00"))
    run(commands.AddItem(order_id, "B-2", 1, Decimal("5.50")))
    run(commands.CancelOrder(order_id, "changed my mind"))
    catch_up()
    return order_id


def page(order_id) -> str:
    return f"{ORDERS}{order_id}/change/"


def test_the_order_page_offers_the_picker_and_shows_the_current_state(client, staff, order):
    html = logged_in(client, staff).get(page(order)).content.decode()
    assert 'type="datetime-local"' in html and 'name="as_of"' in html
    assert "cancelled" in html and 'id="as-of-shown"' not in html


def test_picking_an_instant_shows_the_order_as_it_was_then(client, staff, order):
    added = Event.objects.get(stream_id=order, version=2)
    response = logged_in(client, staff).get(page(order), {"as_of": added.recorded_at.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    shown = response.context["original"]
    assert (shown.status, shown.version, str(shown.total)) == ("placed", 2, "25.50")
    assert f"log position {added.position}" in html and "B-2" in html
    assert ">cancelled<" not in html
    picked = added.recorded_at.replace(tzinfo=None).isoformat("T", "milliseconds")
    assert f'value="{picked}"' in html  # the picker keeps the instant shown


def test_the_picker_takes_a_naive_instant_as_utc(client, staff, order):
    placed = Event.objects.get(stream_id=order, version=1).recorded_at
    naive = placed.replace(tzinfo=None).isoformat()
    response = logged_in(client, staff).get(page(order), {"as_of": naive})
    assert response.context["original"].version == 1


def test_before_the_order_existed_the_page_says_so(client, staff, order):
    placed = Event.objects.get(stream_id=order, version=1).recorded_at
    before = (placed - timedelta(microseconds=1)).isoformat()
    response = logged_in(client, staff).get(page(order), {"as_of": before}, follow=True)
    assert response.redirect_chain[-1][0] == page(order)
    assert any("not placed yet" in m for m in messages_of(response))
    assert response.context["original"].status == "cancelled"


def test_a_malformed_instant_is_refused_with_a_message(client, staff, order):
    response = logged_in(client, staff).get(page(order), {"as_of": "yesterday"}, follow=True)
    assert response.redirect_chain[-1][0] == page(order)
    assert any("State at 'yesterday'" in m for m in messages_of(response))
