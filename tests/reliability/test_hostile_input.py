"""Hostile input (issue 5, item 12): the API's own OpenAPI document, fuzzed in-process.

Schemathesis reads `/api/schema/` from the WSGI application and generates requests for
every operation, both valid ones (positive) and ones that break the schema (negative),
as an anonymous client, a customer who owns orders, and staff. Every answer must be:

- never a 5xx (DESIGN §5: "Never a 500 for anything a client sent");
- documented: its status code, its content type and its body conform to the schema;
- for a GET, free of side effects on the log: no event is appended.

`ORDINAL_FUZZ_EXAMPLES` sets the examples per operation and identity (default 100).
"""

import os
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from eventlog.models import Event
from orders_write import commands
from tests.orders_read.conftest import catch_up, line, run

from .conftest import BOTH_DATABASES

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)

EXAMPLES = int(os.environ.get("ORDINAL_FUZZ_EXAMPLES", "100"))

# The application as gunicorn serves it; schemathesis calls it in-process over WSGI.
APPLICATION = WSGIHandler()
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", APPLICATION)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def not_a_server_error_but_a_read_model_behind(ctx, response, case: Case) -> None:
    """No 5xx, except DESIGN §5's 503 for a `min_position` the read model has not reached.

    That answer must be the documented one (a read-model-behind problem with Retry-After),
    and the position the request asked for must really be ahead of the one it reports.
    """
    if response.status_code == 503 and case.method == "GET":
        body = response.json()
        reported = response.headers.get("x-read-position", ["?"])[0]
        wanted = (case.query or {}).get("min_position")
        assert body["type"] == "urn:ordinal:problem:read-model-behind", body
        assert response.headers.get("retry-after"), "a 503 without Retry-After"
        assert isinstance(wanted, int) and reported.isdigit() and wanted > int(reported), (
            f"503 for min_position={wanted!r} at X-Read-Position {reported}"
        )
        return
    not_a_server_error(ctx, response, case)


CHECKS = [
    not_a_server_error_but_a_read_model_behind,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Fixed ids, so that the generated requests can name orders that exist.
ALICE_OPEN = uuid.UUID("a11ce000-0000-4000-8000-000000000001")
ALICE_SHIPPED = uuid.UUID("a11ce000-0000-4000-8000-000000000002")
ALICE_CANCELLED = uuid.UUID("a11ce000-0000-4000-8000-000000000003")
BOB_OPEN = uuid.UUID("b0b00000-0000-4000-8000-000000000001")
KNOWN_PATH_VALUES = {
    "order_id": [str(i) for i in (ALICE_OPEN, ALICE_SHIPPED, ALICE_CANCELLED, BOB_OPEN)],
    "customer_id": ["alice", "bob", "stella"],
}
ROLES = ["anonymous", "customer", "staff"]
PASSWORD = "pw-secret-1"  # the conftest's make_user default
CREDENTIALS = {"username": "alice", "password": PASSWORD}


@pytest.fixture
def world(make_user) -> dict[str, dict[str, str]]:
    """Alice owns three orders (open, shipped, cancelled), bob one; projected; tokens."""
    alice, _bob, stella = make_user("alice"), make_user("bob"), make_user("stella", staff=True)
    for order_id, customer in [
        (ALICE_OPEN, "alice"),
        (ALICE_SHIPPED, "alice"),
        (ALICE_CANCELLED, "alice"),
        (BOB_OPEN, "bob"),
    ]:
        run(
            commands.PlaceOrder(
                order_id=order_id,
                customer_id=customer,
                currency="EUR",
                items=(line("A-1", 2, "10.00"), line("B-2", 1, "5.50")),
                shipping_address={"line1": "1 Main St", "city": "Oslo", "country": "NO"},
            ),
            customer,
        )
    run(commands.ShipOrder(ALICE_SHIPPED, tracking_number="TRK-1"), "stella", staff=True)
    run(commands.CancelOrder(ALICE_CANCELLED, reason="changed my mind"), "alice")
    catch_up()
    return {
        "anonymous": {},
        "customer": {"Authorization": f"Token {Token.objects.create(user=alice).key}"},
        "staff": {"Authorization": f"Token {Token.objects.create(user=stella).key}"},
    }


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """Keep the test's database connections across requests, as Django's test client does.

    A real request closes old connections when it starts and ends; inside the test's
    transaction that would throw the test's data away.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def no_read_wait(settings) -> None:
    """A `min_position` ahead of the read model gets its 503 at once instead of waiting."""
    settings.ORDINAL_READ_WAIT_SECONDS = 0


def cases(operation: APIOperation) -> st.SearchStrategy:
    """Valid and invalid requests; most valid ones name things that exist.

    Random UUIDs, customer ids, SKUs and positions would only ever meet a 404, a 409 or a
    503 read-model-behind; the "known" cases reach the aggregate and the read models.
    """
    positive, negative = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
    strategies = [
        operation.as_strategy(generation_mode=positive),
        operation.as_strategy(generation_mode=negative),
    ]
    names = {parameter.name for parameter in operation.path_parameters}
    for name in sorted(names & KNOWN_PATH_VALUES.keys()):
        strategies += [
            known(operation.as_strategy(generation_mode=positive, path_parameters={name: value}))
            for value in KNOWN_PATH_VALUES[name]
        ]
    if not names:
        strategies.append(known(operation.as_strategy(generation_mode=positive)))
    if operation.path == "/api/auth/token/":
        strategies.append(
            operation.as_strategy(
                generation_mode=positive, body=CREDENTIALS, media_type="application/json"
            )
        )
    return st.one_of(strategies)


def known(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Point a valid case's `min_position` near the log's head and its `sku` at a real line."""

    def point(drawn: tuple) -> Case:
        case, position, sku = drawn
        if case.query and "min_position" in case.query:
            case.query["min_position"] = position
        if isinstance(case.body, dict) and "sku" in case.body:
            case.body["sku"] = sku
        return case

    return st.tuples(strategy, st.integers(0, 16), st.sampled_from(["A-1", "B-2", "C-3"])).map(
        point
    )


def label(operation: APIOperation) -> str:
    return f"{operation.method.upper()} {operation.path}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", OPERATIONS, ids=label)
def test_every_generated_request_gets_a_documented_answer_and_no_5xx(
    operation: APIOperation, role: str, world: dict, in_process_requests: None, no_read_wait: None
) -> None:
    headers = world[role]
    statuses: Counter[int] = Counter()
    is_get = operation.method.upper() == "GET"

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same cases on every run: CI is reproducible
        database=None,
        # Every example is a whole request through Django and the databases, and the bodies
        # schemathesis draws from the schema are large: data generation is slow by design.
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(case=cases(operation))
    def send(case: Case) -> None:
        cache.clear()  # throttling is a courtesy (DESIGN §8); every case must reach its view
        before = Event.objects.count()
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[response.status_code] += 1
        if is_get:
            assert Event.objects.count() == before, "a GET appended events"

    send()
    tried = sum(statuses.values())
    print(f"{label(operation)} as {role}: {tried} cases, {dict(sorted(statuses.items()))}")
    assert tried >= EXAMPLES, f"only {tried} cases were tried"
