"""The URL conf the OpenAPI generator reads: every API view on its own path.

The served URL conf hands one path to two views (GET to the read side, POST to the
write side), which the generator cannot see through.
"""

from orders_read.urls import routes as read_routes
from orders_write.urls import routes as write_routes

from .routing import schema_patterns

urlpatterns = schema_patterns(write_routes, read_routes)
