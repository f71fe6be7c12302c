"""Real schema-v1 rows (tests/fixtures/events_v1/) replayed through every reader (DESIGN §10).

The rows go into a fresh log by raw INSERT, as an older release wrote them; every
reader must see them in the newest schema: the aggregate, the projections (catch-up,
rebuild, verify), the history endpoint, and a new command appended after them.
"""

from decimal import Decimal
from uuid import UUID

import pytest

from eventlog.models import Event
from orders_read import rebuilds, runner
from orders_read.models import CustomerSummary, OrderView
from orders_read.rebuilds import projection_verify
from orders_write import commands
from orders_write.domain.model import CANCELLED, PLACED, SHIPPED
from orders_write.domain.values import Line
from orders_write.repository import EventLogOrderRepository
from tests.conftest import client_for
from tests.old_events import v1_load

from .conftest import BOTH_DATABASES, catch_up, run, snapshot

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)

ALICE_SHIPPED = UUID("d7e84606-b843-4f43-8a33-75ba2415f4c7")
BOB_CANCELLED = UUID("7f1ee5bb-313c-4ad6-8117-10474ad77ed2")
CAROL_NO_ADDRESS = UUID("661c1d09-234c-42bb-bd3b-a31d30f4cbc4")
ALICE_PARIS = UUID("ab008e87-4700-4ad0-9b52-e9545c0867fd")
CAROL_STOCKHOLM = UUID("f37e18b2-734a-4535-a0e3-29b191429c75")
BOB_EMPTY_ADDRESS = UUID("a1bcf085-e910-4648-9b80-810fc2a4459c")


def address(**given: str) -> dict[str, str]:
    empty = dict.fromkeys(("name", "line1", "line2", "city", "postal_code", "country"), "")
    return {**empty, **given}


OSLO = address(line1="1 Main St", city="Oslo", country="NO")
SPRINGFIELD = address(
    name="Bob Builder",
    line1="42 Elm Road",
    line2="Apt 7, state: IL",
    city="Springfield",
    postal_code="12345",
    country="US",
)
PARIS = address(
    name="Alice Liddell",
    line1="Rue de la Paix 3",
    line2="3e etage, country: France",
    city="Paris",
    postal_code="75002",
)
STOCKHOLM = address(
    line1="Drottninggatan 1",
    line2="note: leave at door",
    city="Stockholm",
    postal_code="111 51",
    country="SE",
)

# order -> (status, version, items {sku: (quantity, unit price)}, total, address, tracking)
EXPECTED = {
    ALICE_SHIPPED: (SHIPPED, 5, {"BOOK-1": (3, "12.50"), "MUG_XL": (1, "8.99")}, "46.49", OSLO),
    BOB_CANCELLED: (
        CANCELLED,
        3,
        {"LAMP": (1, "49.00"), "BULB": (4, "2.25")},
        "58.00",
        SPRINGFIELD,
    ),
    CAROL_NO_ADDRESS: (SHIPPED, 2, {"TEA-100": (5, "3.40"), "CUP": (2, "6.00")}, "29.00", {}),
    ALICE_PARIS: (PLACED, 2, {"BOOK-2": (2, "20.00")}, "40.00", PARIS),
    CAROL_STOCKHOLM: (PLACED, 1, {"CHAIR": (2, "499.00")}, "998.00", STOCKHOLM),
    BOB_EMPTY_ADDRESS: (PLACED, 1, {"SOCKS": (3, "4.00")}, "12.00", {}),
}


@pytest.fixture
def v1_log():
    """The fixture rows in an otherwise empty log, nothing projected yet."""
    assert not Event.objects.exists()
    return v1_load()


def test_the_rows_are_stored_as_v1(v1_log):
    assert set(Event.objects.values_list("schema_version", flat=True)) == {1}
    placed = Event.objects.get(stream_id=ALICE_SHIPPED, version=1)
    assert placed.data["shipping_address"] == {
        "street": "1 Main St",
        "city": "Oslo",
        "country": "NO",
    }


def test_the_aggregate_loads_each_order_in_the_newest_shape(v1_log):
    orders = EventLogOrderRepository()
    for order_id, (status, version, items, total, _) in EXPECTED.items():
        order = orders.get(order_id)
        assert (order.status, order.version, order.total) == (status, version, Decimal(total))
        assert order.lines == {
            sku: Line(sku, quantity, Decimal(price)) for sku, (quantity, price) in items.items()
        }


def test_catch_up_projects_the_upcast_events(v1_log):
    assert catch_up() == {name: len(v1_log) for name in runner.projection_names()}
    views = {view.order_id: view for view in OrderView.objects.using("read")}
    assert set(views) == set(EXPECTED)
    for order_id, (status, version, items, total, shipped_to) in EXPECTED.items():
        view = views[order_id]
        assert (view.status, view.version, view.total) == (status, version, Decimal(total))
        assert {i["sku"]: (i["quantity"], i["unit_price"]) for i in view.items} == items
        assert view.shipping_address == shipped_to
    assert views[ALICE_SHIPPED].tracking_number == "TRK-0001"
    carol = CustomerSummary.objects.using("read").get(customer_id="carol")
    assert (carol.orders_count, carol.open_orders, carol.totals) == (
        2,
        1,
        {"GBP": "29.00", "SEK": "998.00"},
    )


def test_the_detail_and_history_endpoints_show_the_structured_address(v1_log, make_user):
    catch_up()
    alice = client_for(make_user("alice"))
    detail = alice.get(f"/api/orders/{ALICE_SHIPPED}/").json()
    assert detail["shipping_address"] == OSLO
    history = alice.get(f"/api/orders/{ALICE_SHIPPED}/history/").json()
    assert [(e["position"], e["version"], e["type"], e["actor"]) for e in history] == [
        (1, 1, "OrderPlaced", "alice"),
        (2, 2, "ItemAdded", "alice"),
        (3, 3, "ItemQuantityChanged", "alice"),
        (4, 4, "ItemRemoved", "alice"),
        (5, 5, "OrderShipped", "staff"),
    ]
    assert history[0]["data"]["shipping_address"] == OSLO
    assert history[0]["data"]["items"][0] == {"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50"}
    bob = client_for(make_user("bob"))
    assert bob.get(f"/api/orders/{BOB_EMPTY_ADDRESS}/").json()["shipping_address"] is None
    assert (
        bob.get(f"/api/orders/{BOB_EMPTY_ADDRESS}/history/").json()[0]["data"]["shipping_address"]
        is None
    )


def test_a_rebuild_equals_the_catch_up_and_verify_finds_them_equal(v1_log):
    catch_up(batch_size=4)
    incremental = snapshot()
    assert rebuilds.projections_rebuild(batch_size=3) == len(v1_log)
    assert snapshot() == incremental
    for name in runner.projection_names():
        verified = projection_verify(name, batch_size=5)
        assert verified.matches, verified.summary()


def test_new_v2_events_follow_the_v1_ones(v1_log, make_user):
    make_user("alice")
    result = run(commands.AddItem(ALICE_PARIS, "BOOK-3", 1, Decimal("5.00")))
    assert (result.version, result.position) == (3, len(v1_log) + 1)
    run(
        commands.PlaceOrder(
            order_id=UUID(int=7),
            customer_id="alice",
            currency="NOK",
            items=(Line("A-1", 1, Decimal("1.00")),),
            shipping_address={"line1": "Storgata 1", "city": "Bergen", "country": "NO"},
        )
    )
    assert Event.objects.get(stream_id=UUID(int=7)).schema_version == 2
    catch_up()
    paris = OrderView.objects.using("read").get(order_id=ALICE_PARIS)
    assert (paris.version, paris.total, paris.shipping_address) == (3, Decimal("45.00"), PARIS)
    bergen = OrderView.objects.using("read").get(order_id=UUID(int=7))
    assert bergen.shipping_address == address(line1="Storgata 1", city="Bergen", country="NO")
    incremental = snapshot()
    rebuilds.projections_rebuild()
    assert snapshot() == incremental
