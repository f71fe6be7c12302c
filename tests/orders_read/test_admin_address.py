"""The admin shows the structured shipping address, also of orders placed in schema v1."""

import pytest

from tests.old_events import v1_load

from .admin_helpers import EVENTS, ORDERS, logged_in
from .conftest import BOTH_DATABASES, catch_up, line, place

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)

ALICE_SHIPPED = "d7e84606-b843-4f43-8a33-75ba2415f4c7"


@pytest.fixture
def staff_browser(client, staff):
    return logged_in(client, staff)


def test_the_order_page_shows_the_address_as_a_label(staff_browser):
    full = {
        "name": "Kari <Nordmann>",
        "line1": "Karl Johans gate 1",
        "line2": "",
        "city": "Oslo",
        "postal_code": "0154",
        "country": "NO",
    }
    order_id = place("alice", line("A-1"), shipping_address=full)
    catch_up()
    html = staff_browser.get(f"{ORDERS}{order_id}/change/").content.decode()
    assert "Kari &lt;Nordmann&gt;<br>Karl Johans gate 1<br>0154 Oslo<br>NO" in html


def test_an_order_without_an_address_says_so(staff_browser):
    order_id = place("alice", line("A-1"))
    catch_up()
    assert "(none)" in staff_browser.get(f"{ORDERS}{order_id}/change/").content.decode()


def test_a_v1_order_shows_its_upcast_address_and_the_event_browser_the_stored_one(staff_browser):
    rows = v1_load()
    catch_up()
    html = staff_browser.get(f"{ORDERS}{ALICE_SHIPPED}/change/").content.decode()
    assert "1 Main St<br>Oslo<br>NO" in html
    event = staff_browser.get(f"{EVENTS}{rows[0]['position']}/change/").content.decode()
    assert "&quot;street&quot;: &quot;1 Main St&quot;" in event  # as stored, v1
    assert "data (as stored)" in event.lower()
    assert "schema version" in event.lower()
