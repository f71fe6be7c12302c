"""Point Django at fresh benchmark databases on PostgreSQL before anything imports it."""

import os
import subprocess

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
WRITE_DB, READ_DB = "ordinal_bench_write", "ordinal_bench_read"


def configure() -> None:
    """Recreate the two benchmark databases, set the environment and migrate them."""
    for name in (WRITE_DB, READ_DB):
        subprocess.run(
            ["psql", f"{PG}/postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
            check=True,
        )
        subprocess.run(
            ["psql", f"{PG}/postgres", "-q", "-c", f"CREATE DATABASE {name}"], check=True
        )
    os.environ.update(
        DATABASE_URL=f"{PG}/{WRITE_DB}",
        READ_DATABASE_URL=f"{PG}/{READ_DB}",
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", database="default", verbosity=0)
    call_command("migrate", database="read", verbosity=0)


def write_dsn() -> str:
    return f"{PG}/{WRITE_DB}"
