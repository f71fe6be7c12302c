"""Under the Content-Security-Policy, a real browser uses the admin, the browsable API and the docs.

Chromium reports every CSP violation both as a console error and as a
`securitypolicyviolation` event; the test fails on either, on any uncaught script
error, and on any page that does not render what it should.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from eventlog.models import Event

from .browser import BROWSER_TEST, launch, staff_and_a_projected_order, sync_api

pytestmark = BROWSER_TEST

# Runs before any script of each page, so it sees violations of the page's first tags too.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => window.reportViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`
));
"""


class Browser:
    """One page of a headless Chromium that records what the CSP and the scripts refused."""

    def __init__(self, playwright, base_url: str) -> None:
        self.base_url = base_url
        self.browser = launch(playwright)
        self.page = self.browser.new_page()
        self.problems: list[str] = []
        self.page.expose_function("reportViolation", lambda text: self.problems.append(text))
        self.page.add_init_script(REPORT_VIOLATIONS)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.problems.append(f"console: {message.text}")

    def goto(self, path: str, status: int = 200):
        response = self.page.goto(self.base_url + path)
        assert response.status == status, (path, response.status)
        assert response.headers["content-security-policy"]

    def assert_clean(self, where: str) -> None:
        """Fail if anything was refused since the last call."""
        problems, self.problems[:] = list(self.problems), []
        assert not problems, f"{where}:\n" + "\n".join(problems)


@contextmanager
def browsing(live_server) -> Iterator[Browser]:
    """Open a browser on the live server (Django's ORM is off limits inside: an event loop runs)."""
    with sync_api.sync_playwright() as playwright:
        browser = Browser(playwright, live_server.url)
        yield browser
        browser.browser.close()


@pytest.fixture
def order_id(django_user_model, eager):
    return staff_and_a_projected_order(django_user_model)


def test_the_admin_works_under_the_policy(live_server, order_id):
    with browsing(live_server) as browser:
        admin_pages(browser, order_id)


def admin_pages(browser: Browser, order_id) -> None:
    expect, page = sync_api.expect, browser.page
    browser.goto("/admin/login/")
    page.fill("#id_username", "stella")
    page.fill("#id_password", "pw-secret-1")
    page.click("input[type=submit]")
    expect(page.locator("#ordinal-console")).to_be_visible()
    browser.assert_clean("admin login and index")

    browser.goto("/admin/orders_read/orderview/overview/")
    expect(page.locator("#orders-chart svg rect.bar")).to_have_count(1)
    expect(page.locator("#open-orders .value")).to_have_text("1")
    browser.assert_clean("admin overview")

    browser.goto("/admin/orders_read/orderview/")
    row = page.locator("#result_list tbody tr", has_text=str(order_id)[:8])
    expect(row.locator("td.field-status")).to_have_text("placed")
    # The changelist's own scripts run: ticking a row counts it in the action bar.
    row.locator("input.action-select").check()
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
    browser.assert_clean("admin changelist")
    # The Ship action's confirmation page (not confirmed: nothing is shipped).
    page.select_option("select[name=action]", "ship_selected")
    page.click("button[name=index]")
    expect(page.get_by_role("button", name="Ship 1 order")).to_be_visible()
    browser.assert_clean("admin ship confirmation")

    browser.goto(f"/admin/orders_read/orderview/{order_id}/change/")
    expect(page.locator("table.ordinal-items tbody tr")).to_have_count(1)
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Cancel order").click()
    assert asked == ["Cancel this order? Cancelling is final."]
    expect(page.locator("ul.messagelist")).to_have_count(0)  # dismissed: nothing was posted
    browser.assert_clean("admin order page")

    browser.goto("/admin/eventlog/event/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    browser.assert_clean("admin event log")

    browser.goto("/admin/orders_read/checkpoint/")
    asked.clear()
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("tr.projection-order_view input[value=Rebuild]").click()
    assert asked == [
        "Rebuild order_view from the whole event log (in the background, beside the live model)?"
    ]
    expect(page.locator("ul.messagelist")).to_have_count(0)  # dismissed: nothing was posted
    browser.assert_clean("admin projection console")


def test_the_browsable_api_works_under_the_policy(live_server, order_id, alice):
    # `alice` has an account: staff may place orders only for existing customers.
    with browsing(live_server) as browser:
        browsable_api_pages(browser, order_id)
    assert Event.objects.filter(type="OrderPlaced").count() == 2


def browsable_api_pages(browser: Browser, order_id) -> None:
    expect, page = sync_api.expect, browser.page
    browser.goto("/api/orders/", status=401)
    page.get_by_role("link", name="Log in").click()
    page.fill("#id_username", "stella")
    page.fill("#id_password", "pw-secret-1")
    page.click("input[type=submit]")
    expect(page.locator(".response-info")).to_contain_text(str(order_id))
    browser.assert_clean("browsable API login and list")

    body = {
        "customer_id": "alice",
        "currency": "EUR",
        "items": [{"sku": "B-2", "quantity": 1, "unit_price": "4.50"}],
    }
    form = page.locator("#post-generic-content-form")
    form.locator("textarea[name=_content]").fill(json.dumps(body))
    form.get_by_role("button", name="POST").click()
    expect(page.locator(".response-info")).to_contain_text("HTTP 201 Created")
    browser.assert_clean("browsable API raw data form")


def test_the_api_docs_render_under_the_policy(live_server):
    with browsing(live_server) as browser:
        browser.goto("/api/docs/")
        operations = browser.page.locator(".opblock-summary-path")
        sync_api.expect(operations.first).to_be_visible()
        paths = {text.replace("\u200b", "") for text in operations.all_inner_texts()}
        assert {"/api/orders/", "/api/auth/token/"} <= paths
        browser.assert_clean("Swagger UI")
