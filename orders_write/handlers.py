"""One handler per command: load the order, let it decide, save what it recorded."""

from .commands import (
    AddItem,
    CancelOrder,
    ChangeItemQuantity,
    CommandResult,
    Context,
    ForgetCustomer,
    OrderCommand,
    PlaceOrder,
    RemoveItem,
    ShipOrder,
)
from .customers import CustomerDirectory, DataKeyStore
from .domain.model import Order
from .errors import (
    CustomerNotFound,
    NotAllowed,
    OrderNotFound,
    PreconditionFailed,
    UnknownCustomer,
)
from .repository import CustomerRepository, OrderRepository

# A handler names its dependencies as keyword parameters (`orders`, the orders'
# repository; `customers`, the directory of customers; `customer_records`, the customers'
# own streams; `data_keys`, the customers' data keys); config.bootstrap binds them.


def place_order(
    command: PlaceOrder,
    context: Context,
    *,
    orders: OrderRepository,
    customers: CustomerDirectory,
) -> CommandResult:
    if not context.actor.may_act_for(command.customer_id):
        raise NotAllowed("Only staff may place orders for another customer.")
    # Whoever orders for themself is signed in, so has an account: only staff ordering for
    # someone else can name a customer who does not exist.
    for_someone_else = command.customer_id != context.actor.username
    if for_someone_else and not customers.exists(command.customer_id):
        raise UnknownCustomer("No user account has this username.")
    order = Order(str(command.order_id))
    order.place(command.customer_id, command.currency, command.items, command.shipping_address)
    return orders.add(order, context, command)


def add_item(command: AddItem, context: Context, *, orders: OrderRepository) -> CommandResult:
    order = _load_for(orders, command, context)
    order.add_item(command.sku, command.quantity, command.unit_price)
    return orders.add(order, context, command)


def change_item_quantity(
    command: ChangeItemQuantity, context: Context, *, orders: OrderRepository
) -> CommandResult:
    order = _load_for(orders, command, context)
    order.change_quantity(command.sku, command.quantity)
    return orders.add(order, context, command)


def remove_item(command: RemoveItem, context: Context, *, orders: OrderRepository) -> CommandResult:
    order = _load_for(orders, command, context)
    order.remove_item(command.sku)
    return orders.add(order, context, command)


def ship_order(command: ShipOrder, context: Context, *, orders: OrderRepository) -> CommandResult:
    if not context.actor.is_staff:
        raise NotAllowed("Only staff may ship orders.")
    order = _load_for(orders, command, context)
    order.ship(command.tracking_number)
    return orders.add(order, context, command)


def cancel_order(
    command: CancelOrder, context: Context, *, orders: OrderRepository
) -> CommandResult:
    order = _load_for(orders, command, context)
    order.cancel(command.reason)
    return orders.add(order, context, command)


def forget_customer(
    command: ForgetCustomer,
    context: Context,
    *,
    customer_records: CustomerRepository,
    customers: CustomerDirectory,
    data_keys: DataKeyStore,
) -> CommandResult:
    """Destroy the customer's data key and record it: one transaction, so both or neither."""
    if not context.actor.is_staff:
        raise NotAllowed("Only staff may forget customers.")
    customer_id = command.customer_id
    customer = customer_records.get(customer_id)
    known = customer.version or data_keys.state(customer_id) or customers.exists(customer_id)
    if not known:
        raise CustomerNotFound(f"Customer {customer_id} not found.")
    customer.forget()
    data_keys.destroy(customer_id)
    return customer_records.add(customer, context, command)


def _load_for(orders: OrderRepository, command: OrderCommand, context: Context) -> Order:
    """Load the order the actor may act on, at the version If-Match expects."""
    order = orders.get(command.order_id)
    if order is None or not context.actor.may_act_for(order.customer_id):
        raise OrderNotFound(f"Order {command.order_id} not found.")
    if command.expected_version is not None and order.version != command.expected_version:
        raise PreconditionFailed(
            f"Order {order.id} is at version {order.version}, not {command.expected_version}."
        )
    return order


COMMAND_HANDLERS = {
    PlaceOrder: place_order,
    AddItem: add_item,
    ChangeItemQuantity: change_item_quantity,
    RemoveItem: remove_item,
    ShipOrder: ship_order,
    CancelOrder: cancel_order,
    ForgetCustomer: forget_customer,
}
