"""Projectors, one per read model, by projection name."""

from .base import HandlerFailed, Projector, Recorded
from .customers import CustomerSummaryProjector
from .daily_sales import DailySalesProjector
from .orders import OrderViewProjector
from .products import ProductSalesProjector

PROJECTORS: dict[str, type[Projector]] = {
    projector.name: projector
    for projector in (
        OrderViewProjector,
        CustomerSummaryProjector,
        ProductSalesProjector,
        DailySalesProjector,
    )
}

__all__ = ["PROJECTORS", "HandlerFailed", "Projector", "Recorded"]
