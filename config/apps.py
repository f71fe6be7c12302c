"""The project package as a Django app: its system checks and templates."""

from django.apps import AppConfig


class OrdinalConfig(AppConfig):
    name = "config"
    label = "ordinal_config"
    verbose_name = "Ordinal configuration"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
