"""`?as_of=`: an order, a customer and the sales report as they stood at an instant."""

from datetime import timedelta, timezone
from decimal import Decimal
from itertools import pairwise
from uuid import uuid4

import pytest

from eventlog.models import Event
from orders_read import rebuilds, snapshots
from orders_read.models import ProjectionSnapshot, ProjectionSnapshotRow
from orders_read.projectors import PROJECTORS
from orders_write import commands
from tests.conftest import client_for

from ..orders_write.conftest import assert_problem, assert_validation_problem
from .conftest import BOTH_DATABASES, catch_up, line, place, run

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)

TICK = timedelta(microseconds=1)
REPORT = "/api/reports/product-sales/"


def instant_of(position: int):
    return Event.objects.get(position=position).recorded_at


def last_position() -> int:
    return Event.objects.order_by("-position").values_list("position", flat=True)[0]


def at(instant) -> dict:
    """The query string of an instant, to the microsecond, with its UTC offset."""
    return {"as_of": instant.isoformat()}


@pytest.fixture
def snapshot_every(settings):
    settings.ORDINAL_PROJECTION_SNAPSHOT_EVERY = 3
    return 3


@pytest.fixture
def history(alice, bob, staff, snapshot_every):
    """Commands by alice and bob, the live answers kept after each one.

    Returns (alice's order id, [(position, {path: (status, body)})]): each entry taken
    once every projection had caught up to `position`, the last event then.
    """
    staff_client = client_for(staff)
    order = place("alice", line("A-1", 2, "10.00"))
    paths = (f"/api/orders/{order}/", "/api/customers/alice/", "/api/customers/bob/", REPORT)
    taken = []

    def keep():
        catch_up()
        answers = {}
        for path in paths:
            response = staff_client.get(path)
            answers[path] = (response.status_code, response.json())
        taken.append((last_position(), answers))

    keep()
    run(commands.AddItem(order, "B-2", 1, Decimal("5.50")))
    keep()
    bob_order = place("bob", line("A-1", 5, "10.00"), line("C-3", 1, "2.00"))
    keep()
    run(commands.ChangeItemQuantity(order, "A-1", 4))
    keep()
    run(commands.ShipOrder(bob_order, "TRK-1"), "stella", staff=True)
    keep()
    run(commands.CancelOrder(order, "changed my mind"))
    keep()
    place("alice", line("C-3", 3, "2.00"))
    keep()
    return order, taken


def test_as_of_each_instant_answers_what_the_live_read_model_said(staff_client, history):
    _, taken = history
    for position, answers in taken:
        for path, (status, body) in answers.items():
            response = staff_client.get(path, at(instant_of(position)))
            assert (response.status_code, response.json()) == (status, body), (position, path)
            if status == 200 and path != next(iter(answers)):
                assert response["X-As-Of-Position"] == str(position)


def test_the_order_as_of_names_its_own_last_event(alice_client, history):
    order, _ = history
    events = list(Event.objects.filter(stream_id=order).order_by("version"))
    for event in events:
        response = alice_client.get(f"/api/orders/{order}/", at(event.recorded_at))
        assert response.status_code == 200
        assert response["X-As-Of-Position"] == str(event.position)
        assert response.json()["version"] == event.version
        assert response["ETag"] == f'"{event.version}"'
    # Later events of other streams leave the order's answer (and its position) alone.
    response = alice_client.get(f"/api/orders/{order}/", at(instant_of(last_position())))
    assert response["X-As-Of-Position"] == str(events[-1].position)


def test_an_event_recorded_exactly_at_the_instant_is_included(staff_client, history):
    order, taken = history
    (first, _), (second, answers) = taken[0], taken[1]
    instant = instant_of(second)
    included = staff_client.get(REPORT, at(instant))
    assert included["X-As-Of-Position"] == str(second)
    assert included.json() == answers[REPORT][1]
    just_before = staff_client.get(REPORT, at(instant - TICK))
    assert just_before["X-As-Of-Position"] == str(first)
    detail = staff_client.get(f"/api/orders/{order}/", at(instant - TICK))
    assert detail.json()["version"] == 1
    assert staff_client.get(f"/api/orders/{order}/", at(instant)).json()["version"] == 2


def test_before_the_order_existed_it_is_not_found(alice_client, history):
    order, _ = history
    placed = Event.objects.get(stream_id=order, version=1).recorded_at
    response = alice_client.get(f"/api/orders/{order}/", at(placed - TICK))
    assert_problem(response, 404, code="not-found")
    assert "X-As-Of-Position" not in response


def test_someone_elses_order_as_of_is_not_found(bob_client, history):
    order, taken = history
    response = bob_client.get(f"/api/orders/{order}/", at(instant_of(taken[-1][0])))
    assert_problem(response, 404, code="not-found")


def test_before_any_event_the_report_is_empty_and_names_position_zero(staff_client, history):
    first = Event.objects.order_by("position").first()
    response = staff_client.get(REPORT, at(first.recorded_at - TICK))
    assert response.status_code == 200
    assert (response.json(), response["X-As-Of-Position"]) == ([], "0")


def test_a_customer_before_their_first_order(staff_client, bob_client, history):
    """As live: staff get 404, the customer themself an empty summary."""
    first_of_bob = Event.objects.filter(data__customer_id="bob").order_by("position").first()
    before = at(first_of_bob.recorded_at - TICK)
    assert_problem(staff_client.get("/api/customers/bob/", before), 404, code="not-found")
    own = bob_client.get("/api/customers/bob/", before)
    assert own.status_code == 200
    assert own.json() == {
        "customer_id": "bob",
        "orders_count": 0,
        "open_orders": 0,
        "totals": {},
        "last_order_at": None,
    }


def test_the_report_as_of_is_staff_only(alice_client, history):
    assert_problem(alice_client.get(REPORT, at(instant_of(last_position()))), 403)


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z", "0001-01-01T00:00:00+05:00"],
)
@pytest.mark.parametrize(
    "path", ["/api/orders/00000000-0000-0000-0000-000000000001/", REPORT, "/api/customers/alice/"]
)
def test_a_malformed_instant_is_a_400_problem(staff_client, path, value):
    response = staff_client.get(path, {"as_of": value})
    assert_validation_problem(response, "as_of")


def test_an_instant_without_offset_is_utc_and_offsets_are_honoured(staff_client, history):
    _, taken = history
    position, answers = taken[2]
    instant = instant_of(position)
    naive = instant.replace(tzinfo=None).isoformat()
    shifted = instant.astimezone(timezone(timedelta(hours=2))).isoformat()
    for value in (naive, shifted):
        response = staff_client.get(REPORT, {"as_of": value})
        assert response["X-As-Of-Position"] == str(position), value
        assert response.json() == answers[REPORT][1]


def test_as_of_works_with_if_none_match_like_the_detail(alice_client, history):
    order, _ = history
    placed = Event.objects.get(stream_id=order, version=1)
    query = at(placed.recorded_at)
    response = alice_client.get(f"/api/orders/{order}/", query, HTTP_IF_NONE_MATCH='"1"')
    assert response.status_code == 304
    assert response["ETag"] == '"1"'
    assert response["X-As-Of-Position"] == str(placed.position)
    assert (
        alice_client.get(f"/api/orders/{order}/", query, HTTP_IF_NONE_MATCH='"2"').status_code
        == 200
    )


def test_history_does_not_take_as_of(alice_client, history):
    order, _ = history
    response = alice_client.get(f"/api/orders/{order}/history/", {"as_of": "2026-01-01T00:00:00Z"})
    assert_validation_problem(response, "as_of")


def test_without_snapshots_the_answers_are_the_same(staff_client, history):
    """Snapshots are only a shortcut: dropping them changes no answer (only the cost)."""
    _, taken = history
    assert ProjectionSnapshot.objects.using("read").exists()
    ProjectionSnapshotRow.objects.using("read").all().delete()
    ProjectionSnapshot.objects.using("read").all().delete()
    for position, answers in taken:
        for path, (status, body) in answers.items():
            response = staff_client.get(path, at(instant_of(position)))
            assert (response.status_code, response.json()) == (status, body), (position, path)


def test_a_rebuild_takes_the_same_snapshots_as_catch_up(history):
    def taken():
        snapshots_ = ProjectionSnapshotRow.objects.using("read").order_by(
            "projection", "position", "key"
        )
        return list(snapshots_.values_list("projection", "position", "key", "row"))

    live = taken()
    assert live
    rebuilds.projections_rebuild()
    assert taken() == live


def test_snapshots_are_at_most_every_events_apart(snapshot_every, history):
    for name in ("product_sales", "customer_summary"):
        taken = list(
            ProjectionSnapshot.objects.using("read")
            .filter(projection=name)
            .order_by("position")
            .values_list("position", flat=True)
        )
        positions = [0, *taken]
        events = list(Event.objects.order_by("position").values_list("position", flat=True))
        for before, after in pairwise(positions):
            between = [p for p in events if before < p <= after]
            assert len(between) <= snapshot_every
        assert len([p for p in events if p > positions[-1]]) < snapshot_every


def test_the_replay_reads_at_most_every_events_however_long_the_log(
    snapshot_every, staff_client, history, monkeypatch
):
    """The cost bound: a snapshot read plus at most ORDINAL_PROJECTION_SNAPSHOT_EVERY events."""
    for n in range(4):
        place("alice", line(f"X-{n}", 1, "1.00"))
    catch_up()
    replayed = []
    between = snapshots.events_between

    def counted(after, upto):
        events = between(after, upto)
        replayed.append(len(events))
        return events

    monkeypatch.setattr(snapshots, "events_between", counted)
    for position in Event.objects.values_list("position", flat=True):
        staff_client.get(REPORT, at(instant_of(position)))
        staff_client.get("/api/customers/alice/", at(instant_of(position)))
    assert replayed and max(replayed) < snapshot_every


def test_a_date_alone_is_its_midnight_utc(staff_client, history):
    first = Event.objects.order_by("position").first().recorded_at
    day = first.date()
    response = staff_client.get(REPORT, {"as_of": day.isoformat()})
    assert response.status_code == 200
    midnight = staff_client.get(REPORT, {"as_of": f"{day.isoformat()}T00:00:00Z"})
    assert response["X-As-Of-Position"] == midnight["X-As-Of-Position"]
    assert response.json() == midnight.json()


def test_as_of_answers_read_the_log_so_their_read_position_is_its_head(staff_client, history):
    response = staff_client.get(
        REPORT,
        {**at(Event.objects.order_by("position").first().recorded_at), "min_position": 10**6},
    )
    assert response.status_code == 200
    assert response["X-Read-Position"] == str(last_position())


def test_events_no_projector_knows_are_passed_over(staff_client, history):
    from eventlog import store

    _, taken = history
    store.append(
        stream_type="other",
        stream_id=uuid4(),
        expected_version=0,
        events=[store.NewEvent("SomethingElse", {"n": 1})],
    )
    catch_up()
    _, answers = taken[-1]
    response = staff_client.get(REPORT, at(instant_of(last_position())))
    assert response.status_code == 200
    assert response.json() == answers[REPORT][1]


def test_a_snapshot_taken_again_at_its_position_raises_nothing_and_changes_nothing(history):
    """A runner that lost its lock re-takes a snapshot the new holder took: it must reach
    its checkpoint compare-and-set (which rolls it back), not fail on a duplicate."""

    def stored():
        rows = ProjectionSnapshotRow.objects.using("read").order_by("projection", "position", "key")
        return list(rows.values_list("projection", "position", "key", "row"))

    before = stored()
    for name in ("product_sales", "customer_summary"):
        position = snapshots.snapshot_last(name)
        projector = PROJECTORS[name](complete=True)
        projector.rows = dict(snapshots.state_at(PROJECTORS[name], position))
        snapshots.snapshot_take(projector, position, None)
    assert stored() == before
