"""The command API's routes: {route: {method: view}}, merged with the read side's."""

from .api import views

ORDER = "orders/<uuid:order_id>/"

routes = {
    "orders/": {"post": views.PlaceOrderView.as_view()},
    ORDER + "add-item/": {"post": views.AddItemView.as_view()},
    ORDER + "change-quantity/": {"post": views.ChangeQuantityView.as_view()},
    ORDER + "remove-item/": {"post": views.RemoveItemView.as_view()},
    ORDER + "ship/": {"post": views.ShipOrderView.as_view()},
    ORDER + "cancel/": {"post": views.CancelOrderView.as_view()},
}
