"""Liveness and readiness endpoints for load balancers and orchestrators."""

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import JsonResponse

from .celery_app import app as celery_app


def healthz(request):
    """Answer 200 while the process is alive."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Answer 200 when both databases and the broker are reachable, else 503 naming them.

    Read replicas are reported, but do not make the process unready: a query a replica
    cannot answer is answered by the read database (orders_read.replicas).
    """
    replicas = settings.ORDINAL_READ_REPLICAS
    checks = {
        alias: _database_check(alias) for alias in settings.DATABASES if alias not in replicas
    }
    checks["broker"] = _broker_check()
    failing = sorted(name for name, result in checks.items() if result != "ok")
    body = {"status": "ok" if not failing else "unavailable", "checks": checks}
    if replicas:
        body["replicas"] = {alias: _database_check(alias) for alias in replicas}
    if failing:
        body["failing"] = failing
    response = JsonResponse(body, status=503 if failing else 200)
    if failing:
        response["Retry-After"] = "5"
    return response


def _database_check(alias: str) -> str:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except DatabaseError as exc:
        return f"error: {type(exc).__name__}"


def _broker_check() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok"  # no broker configured: tasks run eagerly in the web process
    try:
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # kombu raises transport-specific errors
        return f"error: {type(exc).__name__}"
