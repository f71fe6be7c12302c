"""Helpers of the admin tests: a logged-in staff client and admin URLs."""

ADMIN = "/admin/"
ORDERS = "/admin/orders_read/orderview/"
CUSTOMERS = "/admin/orders_read/customersummary/"
PRODUCTS = "/admin/orders_read/productsales/"
PROJECTIONS = "/admin/orders_read/checkpoint/"
OVERVIEW = "/admin/orders_read/orderview/overview/"
EVENTS = "/admin/eventlog/event/"


def logged_in(client, user):
    """Return the Django test client logged in as `user` (staff here are not superusers)."""
    assert user.is_staff and not user.is_superuser
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    """Return the admin messages a (followed) response shows."""
    return [str(message) for message in response.context["messages"]]
