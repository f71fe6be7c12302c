"""Rebuild without downtime: a new generation beside the live one, swapped in atomically."""

import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from config.bootstrap import query_bus
from eventlog import store
from eventlog.models import Event
from orders_read import generations, rebuilds, runner
from orders_read.models import Checkpoint, CustomerSummary, OrderView, ProductSales, Rebuild
from orders_read.queries import GetOrder, ListOrders, Viewer
from tests.conftest import postgres_only

from .conftest import BOTH_DATABASES, catch_up, line, place, positions, snapshot

STAFF = Viewer("stella", is_staff=True)


def totals() -> tuple[int, int, int]:
    """What readers see: orders listed, units sold, orders counted over customers."""
    orders = OrderView.objects.using("read").count()
    units = sum(ProductSales.objects.using("read").values_list("units_sold", flat=True))
    counted = sum(CustomerSummary.objects.using("read").values_list("orders_count", flat=True))
    return orders, units, counted


@pytest.mark.django_db(databases=BOTH_DATABASES)
class TestOneRebuild:
    def test_a_rebuild_swaps_in_a_new_table_under_the_live_names(self, no_nudge):
        for n in range(5):
            place(f"c{n}", line("A-1"), line("B-2"))
        catch_up()
        expected = snapshot()
        OrderView.objects.using("read").update(status="shipped")  # damage the live one
        tables = generations.tables(OrderView)

        rebuilds.projections_rebuild(["order_view"], batch_size=3)

        assert snapshot() == expected
        assert not tables.exists()  # the new table is the live one now
        introspection = connections["read"].introspection
        with connections["read"].cursor() as cursor:
            constraints = introspection.get_constraints(cursor, OrderView._meta.db_table)
        # The migration state's index names still name the live table's indexes.
        assert {"orderview_customer", "orderview_status", "orderview_placed_at"} <= set(constraints)
        build = Rebuild.objects.using("read").get()
        assert (build.status, build.position, build.events_done) == (
            "done",
            store.head_position(),
            Event.objects.count(),
        )

    def test_a_second_rebuild_is_refused_while_one_is_active(self):
        catch_up()
        first = rebuilds.rebuild_request("product_sales")
        with pytest.raises(rebuilds.RebuildRunning):
            rebuilds.rebuild_request("product_sales")
        with pytest.raises(rebuilds.RebuildRunning):
            rebuilds.rebuild_request("product_sales", "verify")
        with pytest.raises(CommandError, match="already queued"):
            call_command("rebuild_projections", "product_sales", "--no-progress")
        rebuilds.rebuilds_run([first.pk])
        assert rebuilds.rebuild_request("product_sales").pk != first.pk  # done: a new one

    def test_a_refused_projection_leaves_none_of_the_others_queued(self):
        catch_up()
        rebuilds.rebuild_request("product_sales")
        with pytest.raises(CommandError, match="already queued"):
            call_command(
                "rebuild_projections", "customer_summary", "product_sales", "--no-progress"
            )
        assert rebuilds.rebuild_active("customer_summary") is None

    def test_the_command_takes_over_a_rebuild_whose_builder_is_gone(self, settings):
        place("alice", line("A-1"))
        catch_up()
        expected = snapshot()
        stalled = rebuilds.rebuild_request("customer_summary")
        settings.ORDINAL_REBUILD_STALE_SECONDS = 0
        time.sleep(0.01)
        call_command("rebuild_projections", "customer_summary", "--no-progress")
        stalled.refresh_from_db(using="read")
        assert stalled.status == "done" and snapshot() == expected

    def test_verify_leaves_no_table_behind_and_changes_nothing(self):
        place("alice", line("A-1"))
        catch_up()
        before = snapshot()
        assert rebuilds.projection_verify("order_view").matches
        assert not generations.tables(OrderView).exists()
        assert snapshot() == before


@pytest.mark.django_db(databases=BOTH_DATABASES)
class TestNewProjection:
    """A projection with no checkpoint (just added) builds itself; its endpoints wait."""

    def forget(self, name: str) -> None:
        # What a deploy that adds a projection looks like: a table, events, no checkpoint.
        Checkpoint.objects.using("read").filter(name=name).delete()
        runner.PROJECTORS[name]().reset()

    @pytest.mark.parametrize(
        ("name", "path", "shown"),
        [
            ("product_sales", "/api/reports/product-sales/", ("sku", "units_sold", "A-1", 3)),
            ("daily_sales", "/api/reports/daily-sales/", ("currency", "orders_placed", "EUR", 1)),
        ],
    )
    def test_its_endpoints_answer_503_until_it_is_built(
        self, staff_client, no_nudge, name, path, shown
    ):
        place("alice", line("A-1", 3))
        catch_up()
        self.forget(name)

        response = staff_client.get(path)
        assert response.status_code == 503 and response["Retry-After"] == "5"
        assert response.json()["type"].endswith(":read-model-building")
        statuses = {p["name"]: p for p in staff_client.get("/api/projections/").json()}
        assert statuses[name]["status"] == "building"
        # The other endpoints answer as usual.
        assert staff_client.get("/api/orders/").status_code == 200

        runner.projection_catch_up(name)  # what the sweep sends

        response = staff_client.get(path)
        assert response.status_code == 200
        key, field, value, count = shown
        assert [(r[key], r[field]) for r in response.json()] == [(value, count)]
        assert positions()[name] == store.head_position()
        build = Rebuild.objects.using("read").get(projection=name)
        assert (build.kind, build.status) == ("build", "done")

    def test_a_build_asked_for_as_another_finished_leaves_the_live_table_alone(self, no_nudge):
        """A catch-up that saw no checkpoint asks for a build just as one finishes (the
        unique constraint lets it in then): it must not empty the table, live by now."""
        place("alice", line("A-1"))
        catch_up()
        late = rebuilds.rebuild_request("customer_summary", "build")
        CustomerSummary.objects.using("read").update(open_orders=7)  # a mark it would erase

        assert rebuilds.rebuilds_run([late.pk]) == 0

        late.refresh_from_db(using="read")
        assert (late.status, late.result) == ("done", "customer_summary: built already")
        assert CustomerSummary.objects.using("read").get().open_orders == 7

    def test_on_an_empty_log_it_answers_and_is_built_at_once(self):
        Checkpoint.objects.using("read").all().delete()
        assert query_bus().dispatch(ListOrders(viewer=STAFF)).value.rows == []
        catch_up()
        assert positions() == {name: 0 for name in runner.projection_names()}


@postgres_only
@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_queries_and_commands_during_a_rebuild_see_complete_fresh_models(no_nudge):
    """A rebuild runs (many small transactions) while commands and queries flow.

    Must hold: every reader sees totals that never drop below what was projected before
    (never an empty or partial model); every command's read-your-writes query finds its
    order, through the live model, during the rebuild; the result equals a replay.
    """
    for n in range(150):
        place(f"c{n % 7}", line("A-1", 2), line(f"S-{n % 5}"))
    catch_up()
    floor = totals()
    rebuilding, errors, reads, commands = threading.Event(), [], [], []

    def rebuild() -> None:
        try:
            rebuilds.projections_rebuild(batch_size=7)
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            rebuilding.set()
            connections.close_all()

    def read() -> None:
        try:
            while not rebuilding.is_set():
                seen = totals()
                if any(now < before for now, before in zip(seen, floor, strict=True)):
                    errors.append(AssertionError(f"saw {seen}, below {floor}"))
                reads.append(seen)
        finally:
            connections.close_all()

    def command() -> None:
        try:
            while not rebuilding.is_set():
                order_id = place("writer", line("W-1"))
                position = store.head_position()
                runner.projection_catch_up("order_view")  # the worker's nudge
                answer = query_bus().dispatch(
                    GetOrder(viewer=STAFF, order_id=order_id, min_position=position)
                )
                assert answer.value.order_id == order_id
                commands.append(order_id)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=t) for t in (rebuild, read, read, command)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[:3]
    assert len(reads) > 10 and commands, (len(reads), len(commands))
    catch_up()
    live = snapshot()
    rebuilds.projections_rebuild()
    assert snapshot() == live
    print(f"\n{len(reads)} reads and {len(commands)} commands during the rebuild")
