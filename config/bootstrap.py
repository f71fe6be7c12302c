"""The composition root: the buses the API dispatches through (placeholder wiring for now)."""

from orders_read.bus import query_bus
from orders_write.bootstrap import command_bus

__all__ = ["command_bus", "query_bus"]
