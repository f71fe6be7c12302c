"""Generated hostile bodies: every answer is a success or a 4xx problem, never a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlog.models import Event
from tests.orders_write.conftest import PROBLEM, order_path, place, post

pytestmark = pytest.mark.django_db(databases=["default", "read"])

FIELDS = {
    "": ["customer_id", "currency", "items", "shipping_address"],
    "add-item": ["sku", "quantity", "unit_price"],
    "change-quantity": ["sku", "quantity"],
    "remove-item": ["sku"],
    "ship": ["tracking_number"],
    "cancel": ["reason"],
}
LINE_FIELDS = ["sku", "quantity", "unit_price"]
CLIENT_ERRORS = {400, 403, 404, 409, 412, 413, 415, 422}

any_text = st.text(st.characters(exclude_categories=()), max_size=80)  # NUL, surrogates too
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text
    | st.sampled_from(["A-1", "B-2", "EUR", "1.00", "10000", "0", "-1", "1e9", "NaN", ""])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
lines = st.lists(
    st.dictionaries(st.sampled_from([*LINE_FIELDS, "x"]), json_values, max_size=4), max_size=4
)


def bodies(action: str):
    names = st.sampled_from(FIELDS[action]) | any_text
    values = json_values | lines if action == "" else json_values
    return st.dictionaries(names, values, max_size=5) | json_values


@pytest.mark.parametrize("action", FIELDS)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.data())
def test_no_generated_body_gets_a_server_error(staff_client, action, body):
    order_id = place(staff_client)
    sent = body.draw(bodies(action))
    path = order_path(order_id, action) if action else "/api/orders/"
    before = Event.objects.count()

    response = post(staff_client, path, raw=json.dumps(sent).encode())

    if response.status_code in (200, 201):
        assert Event.objects.count() == before + 1
    else:
        assert response.status_code in CLIENT_ERRORS, (sent, response.content[:300])
        assert response["Content-Type"] == PROBLEM
        assert Event.objects.count() == before
