"""Properties of the Order aggregate over any sequence of commands (hypothesis)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orders_write.domain.errors import DomainError
from orders_write.domain.events import OrderCancelled, OrderShipped, event_from
from orders_write.domain.model import CANCELLED, PLACED, SHIPPED, Order
from orders_write.domain.values import MAX_ITEMS, Line

skus = st.sampled_from([f"SKU-{n}" for n in range(6)])
quantities = st.integers(min_value=-2, max_value=10_002)
prices = st.decimals(min_value=Decimal("-1"), max_value=Decimal("1000001"), places=2)
lines = st.builds(Line, skus, quantities, prices)

commands = st.one_of(
    st.tuples(st.just("add_item"), skus, quantities, prices),
    st.tuples(st.just("change_quantity"), skus, quantities),
    st.tuples(st.just("remove_item"), skus),
    st.tuples(st.just("ship"), st.one_of(st.none(), st.text(max_size=5))),
    st.tuples(st.just("cancel"), st.one_of(st.none(), st.text(max_size=5))),
)


def run(first_lines, steps) -> tuple[Order, list]:
    """Place an order, then try each command; refused ones must change nothing."""
    order = Order("order-1")
    try:
        order.place("alice", "EUR", first_lines)
    except DomainError:
        assert order.pending == [] and order.version == 0
        return order, []
    for name, *args in steps:
        before = (order.version, dict(order.lines), order.status)
        try:
            getattr(order, name)(*args)
        except DomainError:
            assert (order.version, dict(order.lines), order.status) == before
    return order, list(order.pending)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, min_size=0, max_size=4), st.lists(commands, max_size=25))
def test_state_equals_the_replay_of_its_events(first_lines, steps):
    order, events = run(first_lines, steps)
    stored = [(event.type, event.to_data()) for event in events]
    replayed = Order.from_events(order.id, (event_from(t, d) for t, d in stored))
    assert replayed.version == order.version == len(events)
    assert (replayed.lines, replayed.status, replayed.total) == (
        order.lines,
        order.status,
        order.total,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, min_size=0, max_size=4), st.lists(commands, max_size=25))
def test_rules_always_hold(first_lines, steps):
    order, events = run(first_lines, steps)
    if not events:
        return
    assert order.total == sum((line.total for line in order.lines.values()), Decimal("0"))
    assert 1 <= len(order.lines) <= MAX_ITEMS
    for line in order.lines.values():
        assert 1 <= line.quantity <= 10_000
        assert Decimal("0") <= line.unit_price <= Decimal("1000000")
        assert line.unit_price == line.unit_price.quantize(Decimal("0.01"))
    # Shipping or cancelling is the last thing that ever happens to an order.
    finals = [i for i, e in enumerate(events) if isinstance(e, (OrderShipped, OrderCancelled))]
    assert finals in ([], [len(events) - 1])
    expected = {OrderShipped: SHIPPED, OrderCancelled: CANCELLED}
    assert order.status == (expected[type(events[-1])] if finals else PLACED)
    # Every event that carries a total carries the order's total right after it.
    for n, event in enumerate(events, start=1):
        if hasattr(event, "total") and not isinstance(event, OrderCancelled):
            assert event.total == Order.from_events(order.id, events[:n]).total
