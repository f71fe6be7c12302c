"""Project order events into ProductSales: units, orders and revenue per SKU."""

from collections.abc import Iterable
from decimal import Decimal

from ..models import ProductSales
from .base import ALL_ROWS, Projector, Recorded, add_money, money
from .merge import ADD, ADD_MAP


class ProductSalesProjector(Projector):
    """Keep one ProductSales row per SKU; a cancelled order takes its lines back out."""

    name = "product_sales"
    model = ProductSales
    merges = {"units_sold": ADD, "orders_count": ADD, "revenue": ADD_MAP}
    snapshot_rows = ALL_ROWS

    def keys(self, event: Recorded) -> Iterable[str]:
        data = event.data
        if "items" in data:
            return [item["sku"] for item in data["items"]]
        return (data["sku"],) if "sku" in data else ()

    def on_order_placed(self, event: Recorded) -> None:
        for item in event.data["items"]:
            self._count(event, item["sku"], item["quantity"], item["unit_price"], orders=1)

    def on_item_added(self, event: Recorded) -> None:
        data = event.data
        self._count(event, data["sku"], data["quantity"], data["unit_price"], orders=1)

    def on_item_quantity_changed(self, event: Recorded) -> None:
        data = event.data
        units = data["quantity"] - data["previous_quantity"]
        self._count(event, data["sku"], units, data["unit_price"], orders=0)

    def on_item_removed(self, event: Recorded) -> None:
        data = event.data
        self._count(event, data["sku"], -data["quantity"], data["unit_price"], orders=-1)

    def on_order_cancelled(self, event: Recorded) -> None:
        for item in event.data["items"]:
            self._count(event, item["sku"], -item["quantity"], item["unit_price"], orders=-1)

    def _count(
        self, event: Recorded, sku: str, units: int, unit_price: str | Decimal, *, orders: int
    ) -> None:
        # A new row starts from the model's defaults: nothing sold, empty revenue.
        sales = self.row_or_new(sku)
        sales["units_sold"] += units
        sales["orders_count"] += orders
        add_money(sales["revenue"], event.data["currency"], units * money(unit_price))
