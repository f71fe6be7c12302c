"""End to end on PostgreSQL and RabbitMQ: a web process and a worker talk through amqp://.

The web process runs under gunicorn, not in the test process, so every nudge is
published to RabbitMQ whatever broker the rest of the suite uses.
"""

import uuid

import pytest
from rest_framework.authtoken.models import Token

from config.celery_app import app

from ..config.test_readyz import AMQP_URL, needs_rabbitmq
from ..conftest import postgres_only
from ..processes import Api, free_port, start_web, start_worker, stop, wait_for_in_log
from .conftest import BOTH_DATABASES
from .test_worker import wait_until_converged

pytestmark = [
    postgres_only,
    needs_rabbitmq,
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def test_web_and_worker_over_rabbitmq_converge(alice, tmp_path):
    worker_log, web_log = tmp_path / "worker.log", tmp_path / "web.log"
    with app.connection_for_write(AMQP_URL) as connection:
        app.control.purge(connection=connection)  # leftovers of earlier runs
    port = free_port()
    api = Api(port, Token.objects.create(user=alice).key)
    web = start_web(web_log, port, CELERY_BROKER_URL=AMQP_URL)
    worker = start_worker(worker_log, CELERY_BROKER_URL=AMQP_URL)
    try:
        status, ready = api.call("GET", "/readyz")
        assert (status, ready["checks"]["broker"]) == (200, "ok")
        request_id = f"rabbit-{uuid.uuid4().hex}"
        order = {"currency": "EUR", "items": [{"sku": "R-1", "quantity": 3, "unit_price": "2.00"}]}
        status, placed = api.call("POST", "/api/orders/", order, **{"X-Request-ID": request_id})
        assert status == 201
        for _ in range(4):
            assert api.call("POST", "/api/orders/", order)[0] == 201
        order_id = placed["order_id"]
        status, cancelled = api.call("POST", f"/api/orders/{order_id}/cancel/", {})
        assert status == 200

        wait_until_converged(worker_log)
        read_after = f"?min_position={cancelled['position']}"
        status, summary = api.call("GET", f"/api/customers/alice/{read_after}")
        assert status == 200
        assert (summary["orders_count"], summary["open_orders"]) == (5, 4)
        assert summary["totals"] == {"EUR": "24.00"}  # 4 x 3 x 2.00
        status, view = api.call("GET", f"/api/orders/{order_id}/")
        assert (status, view["status"], view["version"]) == (200, "cancelled", 2)
        # The worker logged the first command's tasks under its request id.
        wait_for_in_log(worker_log, f"[{request_id}]")
    finally:
        stop(worker)
        stop(web)
