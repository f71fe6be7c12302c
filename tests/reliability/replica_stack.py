"""A read database with a streaming replica, the write database beside it, gunicorn on them.

For the replica test and its benchmark (`python -m bench.replica`): one private PostgreSQL
holds the write and the read database, a second one is its hot standby (`pg_basebackup
-R`); both databases are migrated and a customer has a token. There is no broker:
projections run in the web process right after each command commits, so the read
database is current when a command answers and only the replica can be behind.

Only this module, `tests.processes` and `tests.reliability.servers` are needed: no pytest
fixture, so a script can drive it too.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg

from tests.processes import BASE_DIR, PYTHON, child_env, free_port, start_web, stop
from tests.reliability.servers import PrivatePostgres

SETUP_SECONDS = 180  # migrations on a loaded 2-core machine; a bound, not an expectation
CUSTOMER = "alice"


class ReplicaStack:
    """Write and read databases on one private PostgreSQL, a replica of it, and gunicorn."""

    def __init__(
        self,
        workdir: Path,
        *,
        wait_seconds: float = 3.0,
        retry_seconds: float = 1.0,
        web_threads: int = 4,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.web_threads = web_threads
        self.primary = PrivatePostgres()
        self.replica: PrivatePostgres | None = None
        self.webs: list[subprocess.Popen] = []
        self.token = ""
        self.env = {
            "CELERY_BROKER_URL": "",  # eager: projected in the web process after each commit
            "CONN_MAX_AGE": "60",  # as in production: a stopped replica leaves stale ones
            "ORDINAL_READ_WAIT_SECONDS": str(wait_seconds),
            "ORDINAL_READ_REPLICA_RETRY_SECONDS": str(retry_seconds),
            "THROTTLE_USER": "1000000/minute",
            "ORDINAL_VAR_DIR": str(self.workdir / "var"),
        }

    def __enter__(self) -> ReplicaStack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the primary, migrate both databases, make the customer, start the replica."""
        self.primary.start()
        self.env["DATABASE_URL"] = self.primary.create_database("ordinal_write")
        self.env["READ_DATABASE_URL"] = self.read_url = self.primary.create_database("ordinal_read")
        migrations = [
            self._manage("migrate", "--database", alias, "--noinput")
            for alias in ("default", "read")
        ]
        for migration in migrations:
            if migration.wait(SETUP_SECONDS) != 0:
                raise RuntimeError(f"migrate failed; see {self.log('manage')}")
        script = (
            "from django.contrib.auth import get_user_model\n"
            "from rest_framework.authtoken.models import Token\n"
            f"user = get_user_model().objects.create_user({CUSTOMER!r})\n"
            "print('token', Token.objects.create(user=user).key)\n"
        )
        made = self._manage("shell", "-c", script, output=subprocess.PIPE)
        out, _ = made.communicate(timeout=SETUP_SECONDS)
        self.token = next(line.split()[1] for line in out.decode().splitlines() if "token" in line)
        # After the migrations: the replica starts from a copy of the migrated cluster.
        self.replica = PrivatePostgres(replica_of=self.primary)
        self.replica.start()
        self.replica_url = self.replica.url("ordinal_read")

    def serve(self, *, replicas: bool = True) -> int:
        """Start a gunicorn whose queries read the replica (or only the read database);
        return its port."""
        port = free_port()
        env = {**self.env, "READ_REPLICA_URLS": self.replica_url if replicas else ""}
        name = "web-replica" if replicas else "web-primary"
        self.webs.append(start_web(self.log(name), port, threads=self.web_threads, **env))
        return port

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _manage(self, *args: str, output: int | None = None) -> subprocess.Popen:
        with self.log("manage").open("ab") as log:
            return subprocess.Popen(
                [PYTHON, "manage.py", *args],
                cwd=BASE_DIR,
                env=child_env(**self.env),
                stdout=output or log,
                stderr=log,
            )

    def rows(self, url: str, sql: str, params: tuple = ()) -> list[tuple]:
        """Read straight from a database (the read one, or the replica's copy of it)."""
        with psycopg.connect(url, autocommit=True) as connection:
            return connection.execute(sql, params).fetchall()

    def replay(self, *, paused: bool) -> None:
        """Pause the replica's replay of the primary's changes, or resume it."""
        self.replica.execute(f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()")

    def apply_delay(self, delay: str) -> None:
        """Make the replica apply each commit `delay` after it was made ('0': at once)."""
        self.replica.execute(f"ALTER SYSTEM SET recovery_min_apply_delay = '{delay}'")
        self.replica.execute("SELECT pg_reload_conf()")

    def close(self) -> None:
        for web in self.webs:
            stop(web)
        for server in (self.replica, self.primary):
            if server is not None:
                server.destroy()


class Client:
    """A keep-alive JSON client of one web process, with the customer's token."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.connection: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, body: dict | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """Return (status, headers, decoded body); a GET is sent again on a dropped keep-alive."""
        payload = None if body is None else json.dumps(body).encode()
        headers = {
            "Authorization": f"Token {self.token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        for attempt in (1, 2) if method == "GET" else (2,):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.connection.request(method, path, payload, headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        decoded = json.loads(data) if data else None
        return response.status, {k.lower(): v for k, v in response.getheaders()}, decoded

    def get(self, path: str) -> tuple[int, dict[str, str], Any]:
        return self.call("GET", path)

    def place_order(self) -> tuple[str, int]:
        """Place an order; return its id and the log position of its event."""
        body = {"currency": "EUR", "items": [{"sku": "A-1", "quantity": 1, "unit_price": "2.50"}]}
        status, _, answer = self.call("POST", "/api/orders/", body)
        assert status == 201, answer
        return answer["order_id"], answer["position"]


def timed(action) -> tuple[Any, float]:
    """Return what `action()` returns and the seconds it took."""
    began = time.monotonic()
    result = action()
    return result, time.monotonic() - began
