"""The query API's routes: {route: {method: view}}, merged with the write side's."""

from .api import views

ORDER = "orders/<uuid:order_id>/"
CUSTOMER = "customers/<str:customer_id>/"

routes: dict = {
    "orders/": {"get": views.OrderListView.as_view()},
    ORDER: {"get": views.OrderDetailView.as_view()},
    ORDER + "history/": {"get": views.OrderHistoryView.as_view()},
    CUSTOMER: {"get": views.CustomerView.as_view()},
    CUSTOMER + "orders/": {"get": views.CustomerOrderListView.as_view()},
    "reports/product-sales/": {"get": views.ProductSalesView.as_view()},
    "projections/": {"get": views.ProjectionStatusView.as_view()},
}
