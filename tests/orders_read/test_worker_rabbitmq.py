"""End to end on PostgreSQL and RabbitMQ: a web process and a worker talk through amqp://.

The web process runs under gunicorn, not in the test process, so every nudge is
published to RabbitMQ whatever broker the rest of the suite uses.
"""

import json
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from config.celery_app import app

from ..config.test_readyz import AMQP_URL, needs_rabbitmq
from ..conftest import postgres_only
from .conftest import BOTH_DATABASES
from .test_worker import (
    BASE_DIR,
    start_worker,
    stop,
    subprocess_env,
    wait_for_in_log,
    wait_until_converged,
)

pytestmark = [
    postgres_only,
    needs_rabbitmq,
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]
START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(log: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
    command += ["--no-control-socket"]  # leave a running gunicorn's socket alone
    with log.open("ab") as out:
        web = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=subprocess_env(CELERY_BROKER_URL=AMQP_URL),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return web
        except OSError:
            if web.poll() is not None or time.monotonic() > deadline:
                stop(web)
                pytest.fail(f"the web process did not start; its log:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)


class Api:
    """A JSON client for the web process, authenticated with a token."""

    def __init__(self, port: int, token: str) -> None:
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def call(self, method: str, path: str, body: dict | None = None, **headers: str):
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Token {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                **headers,
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())


def test_web_and_worker_over_rabbitmq_converge(alice, tmp_path):
    worker_log, web_log = tmp_path / "worker.log", tmp_path / "web.log"
    with app.connection_for_write(AMQP_URL) as connection:
        app.control.purge(connection=connection)  # leftovers of earlier runs
    port = free_port()
    api = Api(port, Token.objects.create(user=alice).key)
    web = start_web(web_log, port)
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
