"""Order snapshots in the domain: a snapshot plus later events is the same order (hypothesis).

No database: plain Python, like the aggregate.
"""

import contextlib
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders_write.domain.errors import DomainError, UnreadableSnapshot
from orders_write.domain.events import event_from
from orders_write.domain.model import Order
from orders_write.domain.values import Line
from tests.orders_write.test_domain_properties import commands, lines

customers = st.sampled_from(["alice", "bob", "Zoë 東京"])
currencies = st.sampled_from(["EUR", "JPY", "USD"])
addresses = st.one_of(
    st.none(), st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), max_size=3)
)


def run(placing, steps) -> tuple[Order, list]:
    """Place an order (customer, currency, lines, address), then try each command."""
    order = Order("order-1")
    try:
        order.place(*placing)
    except DomainError:
        return order, []
    for name, *args in steps:
        with contextlib.suppress(DomainError):  # a refusal changes nothing
            getattr(order, name)(*args)
    return order, list(order.pending)


def state_of(order: Order) -> tuple:
    """Everything an order holds, line order included (a cancellation records it)."""
    return (
        order.id,
        order.version,
        order.customer_id,
        order.status,
        order.currency,
        list(order.lines.items()),
        order.tracking_number,
        order.total,
        order.pending,
    )


def stored(events) -> list:
    """The events as the log gives them back: through JSON, then decoded."""
    rows = [(e.type, json.loads(json.dumps(e.to_data())), e.schema_version) for e in events]
    return [event_from(t, d, v) for t, d, v in rows]


def through_json(state):
    return json.loads(json.dumps(state))


def outcomes(order: Order, steps) -> list:
    """What each command does to the order: the event data it records, or the refusal."""
    seen = []
    for name, *args in steps:
        try:
            getattr(order, name)(*args)
            seen.append(order.pending[-1].to_data())
        except DomainError as refusal:
            seen.append((type(refusal).__name__, str(refusal)))
    return seen


placings = st.tuples(customers, currencies, st.lists(lines, min_size=1, max_size=4), addresses)
steps = st.lists(commands, max_size=25)


@settings(max_examples=300, deadline=None)
@given(placings, steps)
def test_an_order_comes_back_from_its_snapshot_as_it_was(placing, steps):
    order, events = run(placing, steps)
    if not events:
        return
    order.pending.clear()  # as saved
    restored = Order.from_snapshot(order.id, through_json(order.snapshot()), order.version)
    assert state_of(restored) == state_of(order)


@settings(max_examples=300, deadline=None)
@given(placings, steps, st.integers(min_value=1), steps)
def test_a_snapshot_and_the_later_events_make_the_same_order_as_all_events(
    placing, steps, cut, more
):
    _, events = run(placing, steps)
    if not events:
        return
    cut = 1 + cut % len(events)  # the snapshot is at any version 1..n
    replayed = Order.from_events("order-1", stored(events))
    at_cut = Order.from_events("order-1", stored(events[:cut]))
    resumed = Order.from_snapshot("order-1", through_json(at_cut.snapshot()), cut)
    resumed.replay(stored(events[cut:]))
    assert state_of(resumed) == state_of(replayed)
    # And both decide every later command alike: nothing that matters was left out.
    assert outcomes(resumed, more) == outcomes(replayed, more)


LYON = {"line1": "1 rue de la République", "city": "Lyon", "country": "FR"}


def a_state() -> dict:
    order = Order("order-1")
    order.place("alice", "EUR", [Line("A-1", 2, Decimal("10.00"))], LYON)
    return through_json(order.snapshot())


def test_a_snapshot_is_plain_json_with_money_as_strings_and_no_personal_data():
    # The address was given, but the aggregate keeps none: no snapshot holds personal data.
    assert a_state() == {
        "customer_id": "alice",
        "status": "placed",
        "currency": "EUR",
        "lines": [{"sku": "A-1", "quantity": 2, "unit_price": "10.00"}],
        "tracking_number": "",
    }


def damaged(change) -> object:
    state = a_state()
    result = change(state)
    return state if result is None else result


@pytest.mark.parametrize(
    "state",
    [
        None,
        "text",
        [],
        damaged(lambda s: s.pop("status")),
        damaged(lambda s: s.update(extra=1)),
        damaged(lambda s: s.update(status="lost")),
        damaged(lambda s: s.update(lines=[])),
        damaged(lambda s: s.update(lines="A-1")),
        damaged(lambda s: s.update(lines=[{"sku": "A-1"}])),
        damaged(lambda s: s["lines"][0].update(unit_price="ten")),
        damaged(lambda s: s["lines"][0].update(unit_price=10.5)),
        damaged(lambda s: s["lines"][0].update(quantity=0)),
        damaged(lambda s: s.update(lines=s["lines"] * 2)),
        damaged(lambda s: s.update(currency="XXXX")),
        damaged(lambda s: s.update(customer_id="")),
        damaged(lambda s: s.update(shipping_address=None)),
        damaged(lambda s: s.update(tracking_number=7)),
    ],
)
def test_a_state_snapshot_could_not_have_produced_is_unreadable(state):
    with pytest.raises(UnreadableSnapshot):
        Order.from_snapshot("order-1", state, 1)


@pytest.mark.parametrize("version", [0, -1, True, "1", 1.0, None])
def test_a_snapshot_at_no_version_is_unreadable(version):
    with pytest.raises(UnreadableSnapshot):
        Order.from_snapshot("order-1", a_state(), version)
