"""A real browser ships orders from the admin: from the list, and from an order's page."""

from eventlog.models import Event
from orders_read.models import OrderView

from .browser import BROWSER_TEST, launch, staff_and_a_projected_order, sync_api

pytestmark = BROWSER_TEST


def test_staff_ship_an_order_from_the_list(live_server, django_user_model, eager):
    order_id = staff_and_a_projected_order(django_user_model)

    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", "stella")
        page.fill("#id_password", "pw-secret-1")
        page.click("input[type=submit]")
        page.get_by_role("link", name="Order views").click()
        row = page.locator("#result_list tbody tr", has_text=str(order_id)[:8])
        status = row.locator("td.field-status")
        sync_api.expect(status).to_have_text("placed")
        row.locator("input.action-select").check()
        page.select_option("select[name=action]", "ship_selected")
        page.click("button[name=index]")
        # The confirmation page asks for the tracking number.
        page.get_by_label(f"Tracking number of order {order_id}").fill("TRK-7")
        page.get_by_role("button", name="Ship 1 order").click()
        sync_api.expect(page.locator("ul.messagelist")).to_contain_text("1 shipped")
        sync_api.expect(status).to_have_text("shipped")
        browser.close()

    shipped = Event.objects.get(stream_id=order_id, type="OrderShipped")
    assert shipped.metadata["actor"] == "stella"
    assert shipped.data["tracking_number"] == "TRK-7"
    assert OrderView.objects.using("read").get(order_id=order_id).status == "shipped"


def test_staff_ship_an_order_from_its_page(live_server, django_user_model, eager):
    order_id = staff_and_a_projected_order(django_user_model)

    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(f"{live_server.url}/admin/orders_read/orderview/{order_id}/change/")
        page.fill("#id_username", "stella")
        page.fill("#id_password", "pw-secret-1")
        page.click("input[type=submit]")
        items = page.locator("table.ordinal-items tbody tr")
        sync_api.expect(items).to_have_count(1)
        sync_api.expect(items.first).to_contain_text("A-1")
        page.fill("#id_tracking_number", "TRK-8")
        page.get_by_role("button", name="Ship order").click()
        sync_api.expect(page.locator("ul.messagelist")).to_contain_text(
            f"Order {order_id} shipped."
        )
        sync_api.expect(page.locator(".field-status .readonly")).to_have_text("shipped")
        sync_api.expect(page.locator("#ship-form")).to_have_count(0)
        browser.close()

    shipped = Event.objects.get(stream_id=order_id, type="OrderShipped")
    assert shipped.data["tracking_number"] == "TRK-8"
