"""App configuration of the read side."""

from django.apps import AppConfig


class OrdersReadConfig(AppConfig):
    name = "orders_read"
    verbose_name = "Orders (read models)"
    default_auto_field = "django.db.models.BigAutoField"
