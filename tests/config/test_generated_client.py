"""A client generated from the OpenAPI document (openapi-python-client) drives a user journey."""

import importlib
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from types import ModuleType, SimpleNamespace
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
from django.core.management import call_command

PACKAGE = "ordinal_client"
PASSWORD = "pw-secret-1"

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "read"])


def generate(root) -> None:
    """Write the schema and generate the client package from it under `root`."""
    schema = root / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", f"--file={schema}")
    config = root / "generator.json"
    # No post hooks: by default the generator runs ruff (from PATH) over its output.
    config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    command += ["--path", str(schema), "--output-path", str(root / PACKAGE)]
    command += ["--config", str(config), "--fail-on-warning"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """Generate the client once per session; give its package, operations and models."""
    root = tmp_path_factory.mktemp("generated-client")
    generate(root)
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module(PACKAGE)
        # Import every module: an operation module the generator broke fails only then.
        modules: dict[str, ModuleType] = {
            info.name.rsplit(".", 1)[-1]: importlib.import_module(info.name)
            for info in pkgutil.walk_packages(package.__path__, PACKAGE + ".")
        }
        yield SimpleNamespace(package=package, api=modules, models=package.models)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture
def server(live_server, eager, settings) -> str:
    """Serve the app on a live server, projecting each command as soon as it commits."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return live_server.url


def log_in(generated: SimpleNamespace, server: str, username: str):
    """Get a token through the generated client and return a client that sends it."""
    anonymous = generated.package.Client(base_url=server, raise_on_unexpected_status=True)
    body = generated.models.AuthTokenRequest(username=username, password=PASSWORD)
    # security [{}]: anyone may call it. The generator still types the argument as an
    # AuthenticatedClient (openapi-python-client issue 1372); a plain Client works.
    answer = generated.api["auth_token_create"].sync_detailed(client=anonymous, body=body)
    assert answer.status_code == 200, answer.content
    token = answer.parsed.token
    assert len(token) == 40
    return generated.package.AuthenticatedClient(
        base_url=server, token=token, prefix="Token", raise_on_unexpected_status=True
    )


def line(generated: SimpleNamespace, sku: str, quantity: int, price: str):
    return generated.models.LineInputRequest(sku=sku, quantity=quantity, unit_price=price)


def place(generated: SimpleNamespace, client, *lines) -> SimpleNamespace:
    """Place an order through the client; return its id, version and position."""
    body = generated.models.PlaceOrderInputRequest(
        currency=generated.models.CurrencyEnum.EUR, items=list(lines)
    )
    answer = generated.api["orders_create"].sync_detailed(client=client, body=body)
    assert answer.status_code == 201, answer.content
    result = answer.parsed
    assert answer.headers["Location"] == f"/api/orders/{result.order_id}/"
    assert answer.headers["ETag"] == '"1"' and result.version == 1
    return result


def cursor_of(link: str) -> str:
    [cursor] = parse_qs(urlsplit(link).query)["cursor"]
    return cursor


def test_a_customer_and_staff_journey_through_the_generated_client(generated, server, make_user):
    api, models = generated.api, generated.models
    make_user("alice")
    make_user("stella", staff=True)
    wrong = models.AuthTokenRequest(username="alice", password="not-it")
    refused = api["auth_token_create"].sync_detailed(
        client=generated.package.Client(base_url=server), body=wrong
    )
    assert refused.status_code == 400 and refused.parsed.status == 400

    # A customer logs in and places an order.
    alice = log_in(generated, server, "alice")
    placed = place(generated, alice, line(generated, "A-1", 2, "10.00"))
    order_id = placed.order_id
    assert isinstance(order_id, UUID)

    # Adds an item, at the version just read (If-Match); a stale version is a 412.
    add_item = api["orders_add_item_create"].sync_detailed
    item = models.AddItemInputRequest(sku="B-2", quantity=3, unit_price="1.50")
    stale = add_item(order_id, client=alice, body=item, if_match='"7"')
    assert stale.status_code == 412 and stale.parsed.type_.endswith(":precondition-failed")
    added = add_item(order_id, client=alice, body=item, if_match='"1"')
    assert added.status_code == 200, added.content
    assert (added.parsed.order_id, added.parsed.version) == (order_id, 2)
    assert added.headers["ETag"] == '"2"' and added.parsed.position > placed.position

    # Reads it back, at least as far as the command wrote (read your writes).
    retrieve = api["orders_retrieve"].sync_detailed
    read = retrieve(order_id, client=alice, min_position=added.parsed.position)
    assert read.status_code == 200, read.content
    assert int(read.headers["X-Read-Position"]) >= added.parsed.position
    assert read.headers["ETag"] == '"2"'
    order = read.parsed
    assert (order.order_id, order.customer_id, order.status) == (order_id, "alice", "placed")
    assert (order.currency, order.version, order.item_count) == ("EUR", 2, 5)
    assert [(i.sku, i.quantity, i.unit_price, i.line_total) for i in order.items] == [
        ("A-1", 2, "10.00", "20.00"),
        ("B-2", 3, "1.50", "4.50"),
    ]
    assert Decimal(order.total) == Decimal("24.50")
    unchanged = retrieve(order_id, client=alice, if_none_match='"2"')
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == '"2"'

    # Lists its orders two to a page, following the next cursor.
    more = [place(generated, alice, line(generated, f"C-{n}", 1, "5.00")) for n in range(3)]
    list_orders = api["orders_list"].sync_detailed
    newest = more[-1].position
    first = list_orders(client=alice, page_size=2, min_position=newest)
    assert first.status_code == 200, first.content
    assert int(first.headers["X-Read-Position"]) >= newest
    second = list_orders(client=alice, page_size=2, cursor=cursor_of(first.parsed.next_))
    assert second.status_code == 200, second.content
    assert second.parsed.next_ is None and second.parsed.previous is not None
    listed = [o.order_id for page in (first, second) for o in page.parsed.results]
    assert listed == [r.order_id for r in reversed(more)] + [order_id]  # newest first

    # The order's history, from the event log.
    history = api["orders_history_list"].sync_detailed(order_id, client=alice)
    assert history.status_code == 200, history.content
    events = history.parsed
    assert [(e.version, e.type_, e.actor) for e in events] == [
        (1, "OrderPlaced", "alice"),
        (2, "ItemAdded", "alice"),
    ]
    assert [e.position for e in events] == [placed.position, added.parsed.position]
    assert events[1].data["sku"] == "B-2"

    # The customer may not see the report; staff ship the order and read it.
    report = api["reports_product_sales_list"].sync_detailed
    assert report(client=alice).status_code == 403
    stella = log_in(generated, server, "stella")
    ship = models.ShipOrderInputRequest(tracking_number="TRACK-1")
    shipped = api["orders_ship_create"].sync_detailed(
        order_id, client=stella, body=ship, if_match='"2"'
    )
    assert shipped.status_code == 200, shipped.content
    assert shipped.parsed.version == 3 and shipped.headers["ETag"] == '"3"'
    final = retrieve(order_id, client=alice, min_position=shipped.parsed.position).parsed
    assert (final.status, final.tracking_number, final.version) == ("shipped", "TRACK-1", 3)

    sales = report(client=stella, min_position=shipped.parsed.position)
    assert sales.status_code == 200, sales.content
    rows = {
        row.sku: (row.units_sold, row.orders_count, row.revenue.additional_properties)
        for row in sales.parsed
    }
    assert rows == {
        "A-1": (2, 1, {"EUR": "20.00"}),
        "B-2": (3, 1, {"EUR": "4.50"}),
        **{f"C-{n}": (1, 1, {"EUR": "5.00"}) for n in range(3)},
    }
