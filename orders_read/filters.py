"""The order list's filters and paging, each declared once: its query-string field and lookup."""

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from .models import STATUSES

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def parameter(
    api_field: type[serializers.Field], *, lookup: str | None = None, default: Any = None, **options
) -> Any:
    """Declare a list parameter: the API field that parses it and the lookup that filters by it.

    The API builds an optional `api_field(**options)` from it (`parameters_input`); the
    selector applies `lookup` when the value is given. Without a lookup it is paging.
    """
    return field(default=default, metadata={"api_field": (api_field, options), "lookup": lookup})


@dataclass(frozen=True, kw_only=True)
class OrderFilters:
    """What narrows an order list (every filter given applies) and which page of it to show."""

    customer_id: str | None = parameter(serializers.CharField, max_length=150, lookup="customer_id")
    status: str | None = parameter(serializers.ChoiceField, choices=STATUSES, lookup="status")
    placed_after: datetime | None = parameter(serializers.DateTimeField, lookup="placed_at__gte")
    placed_before: datetime | None = parameter(serializers.DateTimeField, lookup="placed_at__lte")
    cursor: str | None = parameter(serializers.CharField, max_length=200)
    page_size: int = parameter(
        serializers.IntegerField, min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE
    )

    def apply(self, orders: QuerySet) -> QuerySet:
        """Return `orders` narrowed by each filter that has a value."""
        for spec in fields(self):
            value, lookup = getattr(self, spec.name), spec.metadata["lookup"]
            if lookup is not None and value is not None:
                orders = orders.filter(**{lookup: value})
        return orders
