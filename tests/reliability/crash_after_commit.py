"""Child process for the crash-after-commit test: dispatch one command, die before the nudge.

Usage: python -m tests.reliability.crash_after_commit place ORDER_ID CUSTOMER SKU QTY PRICE
       python -m tests.reliability.crash_after_commit cancel ORDER_ID CUSTOMER

The command goes through the real command bus (`config.bootstrap.command_bus()`),
whose post-commit nudge is replaced by `os._exit(CRASHED)`: the process dies right after
the write transaction commits and before anything is published to the broker.
"""

import os
import sys
import uuid
from decimal import Decimal

import django

# The exit code of a process that died in its nudge, i.e. after its commit.
CRASHED = 86


def crash(position: int) -> None:
    print("committed; dying before the nudge", flush=True)
    os._exit(CRASHED)


def main(action: str, order_id: str, customer: str, *rest: str) -> None:
    django.setup()
    from config import bootstrap
    from orders_write import commands
    from orders_write.domain.values import Line

    bootstrap.enqueue_catch_up = crash  # what command_bus() wires as the post-commit nudge
    if action == "place":
        sku, quantity, price = rest
        command = commands.PlaceOrder(
            order_id=uuid.UUID(order_id),
            customer_id=customer,
            currency="EUR",
            items=(Line(sku, int(quantity), Decimal(price)),),
        )
    else:
        command = commands.CancelOrder(uuid.UUID(order_id))
    context = commands.Context(actor=commands.Actor(customer))
    bootstrap.command_bus().dispatch(command, context)
    print("the nudge never ran", flush=True)  # only reached if the crash did not happen


if __name__ == "__main__":
    main(*sys.argv[1:])
