"""Staff browse every admin page; customers and anonymous visitors are sent to log in."""

import pytest

from eventlog import store
from orders_read.models import CustomerSummary, OrderView, ProductSales
from orders_write import commands

from .admin_helpers import (
    ADMIN,
    CUSTOMERS,
    EVENTS,
    ORDERS,
    OVERVIEW,
    PRODUCTS,
    PROJECTIONS,
    logged_in,
)
from .conftest import BOTH_DATABASES, catch_up, line, place, run, snapshot

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


@pytest.fixture
def staff_browser(client, staff):
    return logged_in(client, staff)


@pytest.fixture
def pages():
    order_id = place("alice", line("A-1", 2, "10.00"))
    catch_up()
    position = store.head_position()
    return [
        ADMIN,
        ORDERS,
        f"{ORDERS}?status__exact=placed",
        f"{ORDERS}?currency__exact=EUR",
        f"{ORDERS}?placed_at__gte=2000-01-01+00:00:00%2B00:00",
        f"{ORDERS}?q={order_id}",
        f"{ORDERS}?q=alice",
        f"{ORDERS}{order_id}/change/",
        CUSTOMERS,
        f"{CUSTOMERS}?q=ali",
        f"{CUSTOMERS}alice/change/",
        PRODUCTS,
        f"{PRODUCTS}?q=A-",
        f"{PRODUCTS}A-1/change/",
        PROJECTIONS,
        f"{PROJECTIONS}order_view/change/",
        OVERVIEW,
        EVENTS,
        f"{EVENTS}?q={order_id}",
        f"{EVENTS}{position}/change/",
    ]


def test_staff_who_are_not_superusers_browse_every_page(staff_browser, pages):
    for url in pages:
        response = staff_browser.get(url)
        assert response.status_code == 200, url


def test_the_index_links_the_read_models_the_overview_and_the_console(staff_browser, pages):
    html = staff_browser.get(ADMIN).content.decode()
    for url in (ORDERS, CUSTOMERS, PRODUCTS, PROJECTIONS, OVERVIEW, EVENTS):
        assert f'href="{url}"' in html, url


def test_an_order_page_links_to_its_event_history(staff_browser):
    order_id = place("alice")
    catch_up()
    html = staff_browser.get(f"{ORDERS}{order_id}/change/").content.decode()
    history = f"{EVENTS}?q={order_id}"
    assert history in html
    listing = staff_browser.get(history).content.decode()
    assert "OrderPlaced" in listing


def test_the_order_list_filters_by_status_and_searches_by_customer(staff_browser):
    shipped = place("alice")
    placed = place("bob")
    run(commands.ShipOrder(shipped), "stella", staff=True)
    catch_up()
    listing = staff_browser.get(ORDERS, {"status__exact": "shipped"}).content.decode()
    assert str(shipped) in listing and str(placed) not in listing
    found = staff_browser.get(ORDERS, {"q": "bob"}).content.decode()
    assert str(placed) in found and str(shipped) not in found


@pytest.mark.parametrize("who", ["customer", "anonymous"])
def test_customers_and_anonymous_visitors_are_sent_to_log_in(client, alice, pages, who):
    if who == "customer":
        client.force_login(alice)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url


def test_read_model_rows_cannot_be_added_changed_or_deleted(staff_browser, superuser):
    order_id = place("alice", line("A-1"))
    catch_up()
    before = snapshot()
    for user_client in (staff_browser, superuser):
        for listing, key in (
            (ORDERS, order_id),
            (CUSTOMERS, "alice"),
            (PRODUCTS, "A-1"),
            (PROJECTIONS, "order_view"),
        ):
            assert user_client.get(f"{listing}add/").status_code == 403
            assert user_client.post(f"{listing}{key}/delete/", {"post": "yes"}).status_code == 403
            user_client.post(f"{listing}{key}/change/", {"status": "cancelled", "total": "0"})
            bulk = user_client.post(
                listing,
                {"action": "delete_selected", "_selected_action": [str(key)], "post": "yes"},
            )
            assert bulk.status_code in (200, 302)
    assert snapshot() == before
    assert OrderView.objects.using("read").get().status == "placed"
    assert CustomerSummary.objects.using("read").count() == ProductSales.objects.count() == 1


@pytest.fixture
def superuser(django_user_model):
    from django.test import Client

    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(root)
    return client
