"""Each list parameter is declared once: the query string, the query and the selector follow."""

from dataclasses import dataclass, fields
from datetime import UTC, datetime

from rest_framework import serializers

from orders_read.api.serializers import CustomerOrdersInput, ListOrdersInput, parameters_input
from orders_read.filters import OrderFilters, parameter
from orders_read.models import OrderView


def test_the_list_parameters_are_the_filters_fields():
    names = {spec.name for spec in fields(OrderFilters)}
    assert set(ListOrdersInput().fields) == names | {"min_position"}
    assert set(CustomerOrdersInput().fields) == names - {"customer_id"} | {"min_position"}


def test_the_query_string_becomes_the_querys_filters():
    data = {"status": "placed", "placed_after": "2026-01-02T03:04:05Z", "min_position": "7"}
    serializer = ListOrdersInput(data=data)
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {
        "min_position": 7,
        "filters": OrderFilters(
            status="placed", placed_after=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        ),
    }
    assert ListOrdersInput(data={}).is_valid()
    assert OrderFilters().page_size == 20


def test_a_parameter_is_one_declaration():
    @dataclass(frozen=True, kw_only=True)
    class ByCurrency:
        currency: str | None = parameter(
            serializers.ChoiceField, choices=["EUR"], lookup="currency"
        )

    parse = parameters_input("ByCurrencyInput", ByCurrency)
    refused = parse(data={"currency": "USD"})
    assert not refused.is_valid() and "currency" in refused.errors
    accepted = parse(data={"currency": "EUR"})
    assert accepted.is_valid()
    assert accepted.validated_data["filters"] == ByCurrency(currency="EUR")


def test_the_filters_given_narrow_the_list_and_the_others_do_not():
    sql = str(OrderFilters(status="shipped").apply(OrderView.objects.all()).query)
    assert "status" in sql and "customer_id" not in sql.split("WHERE", 1)[1]
