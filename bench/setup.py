"""Point Django at fresh benchmark databases on PostgreSQL before anything imports it."""

import os
import subprocess

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
WRITE_DB, READ_DB = "ordinal_bench_write", "ordinal_bench_read"
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12")
# With DEBUG off the master key is required (web and worker refuse to start without it).
# Benchmarks only: 32 bytes that are no secret, in base64.
MASTER_KEY = "YmVuY2gtb25seS1tYXN0ZXIta2V5LW5vdC1zZWNyZXQ="


def configure(write_db: str = WRITE_DB, read_db: str = READ_DB, *, fresh: bool = True) -> None:
    """Recreate the two benchmark databases (unless not `fresh`), set the environment and
    migrate them."""
    if fresh:
        drop(write_db, read_db)
        for name in (write_db, read_db):
            subprocess.run(
                ["psql", f"{PG}/postgres", "-q", "-c", f"CREATE DATABASE {name}"], check=True
            )
    os.environ.update(
        DATABASE_URL=f"{PG}/{write_db}",
        READ_DATABASE_URL=f"{PG}/{read_db}",
        DJANGO_SETTINGS_MODULE="bench.settings",
        LOG_LEVEL="WARNING",
        # Production-like: DEBUG off (no query log), plain HTTP on 127.0.0.1, no throttling.
        DEBUG="False",
        SECRET_KEY="bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
        SECURE_SSL_REDIRECT="False",
        SECURE_HSTS_SECONDS="0",
        THROTTLE_ANON="1000000/second",
        THROTTLE_USER="1000000/second",
        CELERY_BROKER_URL=REDIS,
        ORDINAL_VAR_DIR="/tmp/ordinal-bench-var",
        ORDINAL_MASTER_KEY=MASTER_KEY,
    )
    import django
    from django.core.management import call_command

    django.setup()
    if fresh:
        call_command("migrate", database="default", verbosity=0)
        call_command("migrate", database="read", verbosity=0)


def write_dsn() -> str:
    return f"{PG}/{WRITE_DB}"


def drop(*names: str) -> None:
    """Drop benchmark databases (a large log is not kept after its benchmark)."""
    for name in names:
        subprocess.run(
            ["psql", f"{PG}/postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
            check=True,
        )
