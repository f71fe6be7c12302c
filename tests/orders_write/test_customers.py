"""Customers are user accounts: staff may order only for a customer who has one (DESIGN §9)."""

import pytest

from orders_write.customers import UserAccountCustomers
from tests.orders_write.conftest import appends_nothing, assert_validation_problem, place_body, post

pytestmark = pytest.mark.django_db(databases=["default", "read"])


def test_a_staff_order_for_a_customer_without_an_account_is_a_400_on_customer_id(staff_client):
    with appends_nothing():
        response = post(staff_client, "/api/orders/", place_body(customer_id="zed-999"))
    body = assert_validation_problem(response, "customer_id")
    assert body["errors"] == {"customer_id": ["No user account has this username."]}


def test_the_refused_order_stores_no_outcome_for_its_idempotency_key(staff_client, make_user):
    body = place_body(customer_id="carol")
    refused = post(staff_client, "/api/orders/", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert_validation_problem(refused, "customer_id")
    make_user("carol")  # the retry after the account exists is a new attempt, not a replay
    placed = post(staff_client, "/api/orders/", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert placed.status_code == 201, placed.content


def test_the_user_accounts_are_the_customers(make_user):
    make_user("carol")
    make_user("stella", staff=True)
    customers = UserAccountCustomers()
    assert customers.exists("carol") and customers.exists("stella")
    assert not customers.exists("zed-999")
    assert not customers.exists("caro")  # the whole username, not a prefix
