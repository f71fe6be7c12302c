"""App configuration of the project package: its system checks and template overrides."""

from django.apps import AppConfig
from django.core import checks


class ProjectConfig(AppConfig):
    name = "config"
    verbose_name = "Ordinal project"

    def ready(self) -> None:
        from . import checks as project_checks  # noqa: F401  (registers its checks)
        from .master_key import check_data_keys, check_master_key
        from .secret_key import check_secret_key

        checks.register(check_secret_key, checks.Tags.security)
        checks.register(check_master_key, checks.Tags.security)
        checks.register(check_data_keys, checks.Tags.database)
