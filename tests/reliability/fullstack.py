"""The whole stack on private servers, a command load that records every answer, and checks.

One implementation for the database-restart test and the chaos soak (`python -m bench.soak`):

- `Stack`: a private PostgreSQL for the write DB, another for the read DB, a private Redis,
  both databases migrated, one staff user with a token per client, gunicorn, a Celery
  worker and beat, all on them; faults (`outage`, `kill_worker`, `kill_broker`) on demand.
- `CommandLoad`: client threads that place orders and change them over HTTP, each command
  with its own Idempotency-Key, retried with that key after a 503 or a lost answer, and
  every answer recorded.
- `check_log`, `wait_converged`, `rebuild_differences`: what must hold afterwards, read
  with psycopg straight from the private databases.

Only this module, `tests.processes` and `tests.reliability.servers` are needed: no pytest
fixture, so a script can drive it too. Children need Django settings to be importable
(`DJANGO_SETTINGS_MODULE=config.settings`), as `tests.processes` does.
"""

from __future__ import annotations

import http.client
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.processes import (
    BASE_DIR,
    PYTHON,
    Api,
    child_env,
    free_port,
    start_beat,
    start_web,
    start_worker,
    stop,
)
from tests.reliability.servers import PrivatePostgres, PrivateRedis

READ_TABLES = (
    "orders_read_orderview",
    "orders_read_customersummary",
    "orders_read_productsales",
    "orders_read_dailysales",
)
PROJECTIONS = len(READ_TABLES)  # one checkpoint per read model
SETUP_SECONDS = 180  # migrations on a loaded 2-core machine; a bound, not an expectation
# What a successful command answers; a refusal probe (a change to a final order) gets 409.
SUCCESS = {"place": 201}
PROBE = "probe"


# --- the stack ----------------------------------------------------------------------------


class Stack:
    """Write and read PostgreSQL, Redis, gunicorn, a worker and beat, all private.

    `conn_max_age` > 0 keeps database connections open between requests and tasks, as a
    production deployment would: a restarted server then leaves stale connections behind,
    which `CONN_HEALTH_CHECKS` must notice.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        clients: int = 4,
        conn_max_age: int = 60,
        sweep_seconds: float = 1.0,
        web_threads: int = 4,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.clients, self.web_threads = clients, web_threads
        self.write_pg = PrivatePostgres()
        self.read_pg = PrivatePostgres()
        self.redis = PrivateRedis()
        self.port = free_port()
        self.env: dict[str, str] = {}
        self.tokens: list[str] = []
        self.web = self.worker = self.beat = None
        self.write_url = self.read_url = ""
        self._settings = {
            "CONN_MAX_AGE": str(conn_max_age),
            "ORDINAL_SWEEP_SECONDS": str(sweep_seconds),
            # Throttling is a courtesy (DESIGN §8), not what is under test here.
            "THROTTLE_USER": "1000000/minute",
            "ORDINAL_VAR_DIR": str(self.workdir / "var"),
        }

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the servers, migrate both databases, make the clients, start the processes."""
        self.write_pg.start()
        self.read_pg.start()
        self.redis.start()
        self.write_url = self.write_pg.create_database("ordinal_write")
        self.read_url = self.read_pg.create_database("ordinal_read")
        self.env = {
            **self._settings,
            "DATABASE_URL": self.write_url,
            "READ_DATABASE_URL": self.read_url,
            "CELERY_BROKER_URL": self.redis.url(0),
        }
        # Both migrations at once: most of their time is Django starting up.
        migrations = [
            self._manage_async("migrate", "--database", alias, "--noinput", log="migrate")
            for alias in ("default", "read")
        ]
        for migration in migrations:
            if migration.wait(SETUP_SECONDS) != 0:
                raise RuntimeError(f"migrate failed; see {self.log('migrate')}")
        self.tokens = self._make_clients()
        self.web = start_web(self.log("web"), self.port, threads=self.web_threads, **self.env)
        self.worker = start_worker(self.log("worker"), **self.env)
        self.beat = start_beat(self.log("beat"), self.workdir / "beat-schedule", **self.env)

    def _manage_async(self, *args: str, log: str) -> subprocess.Popen:
        with self.log(log).open("ab") as out:
            return subprocess.Popen(
                [PYTHON, "manage.py", *args],
                cwd=BASE_DIR,
                env=child_env(**self.env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def manage(self, *args: str) -> str:
        """Run a management command on the private databases; return its output."""
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=BASE_DIR,
            env=child_env(**self.env),
            capture_output=True,
            text=True,
            timeout=SETUP_SECONDS,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def _make_clients(self) -> list[str]:
        """One staff user with a token per client thread (staff may ship orders)."""
        script = (
            "from django.contrib.auth import get_user_model\n"
            "from rest_framework.authtoken.models import Token\n"
            f"for n in range({self.clients}):\n"
            "    user = get_user_model().objects.create_user(f'client-{n}', is_staff=True)\n"
            "    print('token', Token.objects.create(user=user).key)\n"
        )
        output = self.manage("shell", "-c", script)
        return [line.split()[1] for line in output.splitlines() if line.startswith("token ")]

    # --- faults ---

    def outage(self, which: str, mode: str, down_seconds: float) -> float:
        """Stop the `which` ("write" or "read") PostgreSQL with `mode`, keep it down, start it.

        mode "immediate" is a crash (no shutdown checkpoint, recovery at start), "fast"
        a clean stop that aborts open transactions. Return the seconds it was unreachable.
        """
        server = {"write": self.write_pg, "read": self.read_pg}[which]
        began = time.monotonic()
        server.stop(mode)
        time.sleep(down_seconds)
        server.start()
        return time.monotonic() - began

    def kill_worker(self) -> None:
        """SIGKILL the worker (its unacknowledged tasks go back to the queue) and restart it."""
        stop(self.worker, signal.SIGKILL)
        self.worker = start_worker(self.log("worker"), **self.env)

    def kill_broker(self, down_seconds: float) -> None:
        """SIGKILL Redis (every queued task is lost, as in a crash) and start it again empty."""
        self.redis.stop(signal.SIGKILL)
        time.sleep(down_seconds)
        self.redis.start()

    def revive(self) -> list[str]:
        """Restart any of web, worker and beat that exited on its own, as a supervisor
        would; return their names. A process that dies of a fault it should survive is a
        finding, and the caller reports it.
        """
        died = []
        if self.worker.poll() is not None:
            died.append("worker")
            self.worker = start_worker(self.log("worker"), **self.env)
        if self.beat.poll() is not None:
            died.append("beat")
            self.beat = start_beat(self.log("beat"), self.workdir / "beat-schedule", **self.env)
        if self.web.poll() is not None:
            died.append("web")
            self.web = start_web(self.log("web"), self.port, threads=self.web_threads, **self.env)
        return died

    def close(self) -> None:
        for process in (self.beat, self.worker, self.web):
            if process is not None:
                stop(process)
        for server in (self.redis, self.read_pg, self.write_pg):
            server.destroy()


# --- the client load ------------------------------------------------------------------------


@dataclass
class Sent:
    """One command as a client sent it, with every answer it got (status or "no answer")."""

    kind: str
    order_id: str | None
    key: str
    answers: list[int | str] = field(default_factory=list)
    problem_types: list[str] = field(default_factory=list)  # of the 503 answers
    status: int | None = None  # the final answer; None if the client gave up
    result: dict[str, Any] | None = None
    started: float = 0.0
    ended: float = 0.0

    @property
    def expected(self) -> int:
        return 409 if self.kind == PROBE else SUCCESS.get(self.kind, 200)

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Order:
    order_id: str
    items: dict[str, int]  # sku -> quantity, as the client's acknowledged commands left it


class CommandLoad:
    """Client threads sending commands over HTTP, each recording every answer it gets.

    Each thread works on its own orders, so every command has one right answer: place
    (201), add-item, change-quantity, remove-item, ship, cancel (200), and now and then a
    probe, a change to a shipped or cancelled order, which must be refused (409) and write
    nothing. Every command carries its own Idempotency-Key; a 503 or a lost answer (the
    connection dropped, the request may or may not have committed) is retried with the
    same key and body until a definitive answer comes or `give_up_seconds` pass.
    """

    def __init__(
        self,
        port: int,
        tokens: list[str],
        *,
        seed: int = 0,
        commands: int | None = None,
        give_up_seconds: float = 90,
        retry_with_key: bool = True,
    ) -> None:
        self.port, self.tokens, self.seed = port, tokens, seed
        self.quota = commands
        self.give_up_seconds = give_up_seconds
        # False only in a mutation run: a retry without the key may apply a command twice.
        self.retry_with_key = retry_with_key
        self.sent: list[Sent] = []
        self.errors: list[str] = []  # a client thread that died, with why: a bug in the load
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(n,), name=f"client-{n}", daemon=True)
            for n in range(len(tokens))
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, seconds: float = 120) -> None:
        """Ask the clients to finish their current command, and wait for them."""
        self._stop.set()
        self.join(seconds)

    def join(self, seconds: float = 3600) -> None:
        deadline = time.monotonic() + seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            raise RuntimeError("a client thread did not finish")

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def acknowledged_since(self, moment: float) -> int:
        """How many commands started at or after `moment` got a 2xx."""
        with self._lock:
            return sum(1 for s in self.sent if s.acknowledged and s.started >= moment)

    def _take(self) -> bool:
        with self._lock:
            if self._stop.is_set():
                return False
            if self.quota is not None:
                if self.quota <= 0:
                    return False
                self.quota -= 1
            return True

    def _client(self, n: int) -> None:
        try:
            self._commands(n)
        except Exception as exc:
            with self._lock:
                self.errors.append(f"client {n}: {type(exc).__name__}: {exc}")
            raise

    def _commands(self, n: int) -> None:
        rng = random.Random(self.seed * 1000 + n)
        api = Api(self.port, self.tokens[n])
        open_orders: list[_Order] = []
        final_orders: list[str] = []
        while self._take():
            kind, order, path, body = self._next(rng, open_orders, final_orders)
            sent = Sent(kind, order.order_id if order else None, f"c{n}-{uuid.uuid4().hex}")
            self._send(api, sent, path, body, rng)
            with self._lock:
                self.sent.append(sent)
            if sent.status is None:
                # In doubt: whether it committed is for the checks to say; leave the order.
                if order in open_orders:
                    open_orders.remove(order)
                continue
            if sent.status != sent.expected:
                continue  # recorded; the checks report it
            if kind == "place":
                items = {item["sku"]: item["quantity"] for item in body["items"]}
                open_orders.append(_Order(sent.result["order_id"], items))
            elif kind in ("add-item", "change-quantity"):
                order.items[body["sku"]] = body["quantity"]
            elif kind == "remove-item":
                del order.items[body["sku"]]
            elif kind in ("ship", "cancel"):
                open_orders.remove(order)
                final_orders.append(order.order_id)

    @staticmethod
    def _next(rng: random.Random, open_orders: list[_Order], final_orders: list[str]):
        """Pick the next command: (kind, order or None, path, body)."""
        roll = rng.random()
        if final_orders and roll < 0.04:
            order_id = rng.choice(final_orders)
            body = {"sku": f"P-{rng.randrange(10**6)}", "quantity": 1, "unit_price": "1.00"}
            return PROBE, _Order(order_id, {}), f"/api/orders/{order_id}/add-item/", body
        if len(open_orders) < 2 or roll < 0.25:
            skus = [f"S-{rng.randrange(50)}-{i}" for i in range(rng.randint(1, 3))]
            items = [
                {"sku": s, "quantity": rng.randint(1, 5), "unit_price": f"{rng.randint(1, 99)}.50"}
                for s in skus
            ]
            body = {"currency": rng.choice(["EUR", "USD"]), "items": items}
            return "place", None, "/api/orders/", body
        order = rng.choice(open_orders)
        base = f"/api/orders/{order.order_id}/"
        kind = rng.choices(
            ["add-item", "change-quantity", "remove-item", "ship", "cancel"],
            weights=[30, 35, 10, 10, 10],
        )[0]
        if kind == "remove-item" and len(order.items) < 2:
            kind = "change-quantity"  # removing the last item is refused (409)
        if kind == "add-item":
            body = {
                "sku": f"A-{len(order.items)}-{rng.randrange(10**6)}",
                "quantity": rng.randint(1, 5),
                "unit_price": "3.25",
            }
        elif kind == "change-quantity":
            sku = rng.choice(sorted(order.items))
            # The same quantity again is refused (409): always a different one.
            quantity = rng.choice([q for q in range(1, 10) if q != order.items[sku]])
            body = {"sku": sku, "quantity": quantity}
        elif kind == "remove-item":
            body = {"sku": rng.choice(sorted(order.items))}
        elif kind == "ship":
            body = {"tracking_number": f"T{rng.randrange(10**9)}"}
        else:
            body = {"reason": "changed my mind"}
        return kind, order, base + kind + "/", body

    def _send(self, api: Api, sent: Sent, path: str, body: dict, rng: random.Random) -> None:
        sent.started = time.monotonic()
        deadline = sent.started + self.give_up_seconds
        pause = 0.1
        while True:
            headers = {"Idempotency-Key": sent.key}
            if not self.retry_with_key and sent.answers:
                headers = {}
            try:
                status, answer = api.call("POST", path, body, **headers)
            except (OSError, http.client.HTTPException):
                # No answer: the command may or may not have committed. Only a retry with
                # the same key can tell, without applying it twice.
                sent.answers.append("no answer")
            else:
                sent.answers.append(status)
                if status != 503:
                    sent.status, sent.result = status, answer if isinstance(answer, dict) else None
                    break
                sent.problem_types.append(answer.get("type") if isinstance(answer, dict) else "")
            if time.monotonic() > deadline:
                break
            time.sleep(pause * rng.uniform(0.5, 1.5))
            pause = min(pause * 2, 1.0)
        sent.ended = time.monotonic()

    # --- figures ---

    def figures(self) -> dict[str, Any]:
        with self._lock:
            sent = list(self.sent)
        answers = Counter(a for s in sent for a in s.answers)
        finals = Counter("gave up" if s.status is None else s.status for s in sent)
        return {
            "commands": len(sent),
            "requests": sum(len(s.answers) for s in sent),
            "2xx": sum(1 for s in sent if s.acknowledged),
            "409 probes": sum(1 for s in sent if s.kind == PROBE and s.status == 409),
            "503 answers": answers.get(503, 0),
            "no answer": answers.get("no answer", 0),
            "retried commands": sum(1 for s in sent if len(s.answers) > 1),
            "final statuses": dict(sorted(finals.items(), key=str)),
            "gave up": finals.get("gave up", 0),
            "client errors": len(self.errors),
        }


# --- the checks ------------------------------------------------------------------------------


def _query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, connect_timeout=5) as connection:
        return connection.execute(sql, params).fetchall()


def check_log(sent: list[Sent], write_url: str) -> dict[str, Any]:
    """Compare every recorded answer with the event log; return problems and counts.

    Must hold: each 2xx command's events are in the log, on its order, ending at the
    version and position it answered (no 2xx without a commit, nothing applied twice);
    a refused command appended nothing; no event without an acknowledged command, except
    those of a command whose answer never came (in doubt); no 5xx but 503 problem
    documents; every final answer the one the command must get.
    """
    rows = _query(
        write_url,
        "SELECT position, stream_id::text, version, metadata->>'idempotency_key' "
        "FROM eventlog_event ORDER BY position",
    )
    by_key: dict[str | None, list[tuple]] = {}
    streams: dict[str, list[int]] = {}
    for position, stream, version, key in rows:
        by_key.setdefault(key, []).append((stream, version, position))
        streams.setdefault(stream, []).append(version)
    problems: list[str] = []
    in_doubt_committed = 0
    known = {s.key for s in sent}
    for s in sent:
        events = by_key.get(s.key, [])
        bad_answers = [a for a in s.answers if isinstance(a, int) and a >= 500 and a != 503]
        if bad_answers:
            problems.append(f"{s.kind} {s.key}: server error answer(s) {bad_answers}")
        if any(t != "urn:ordinal:problem:service-unavailable" for t in s.problem_types):
            problems.append(f"{s.kind} {s.key}: a 503 that is not a problem document")
        if s.status is None:
            in_doubt_committed += bool(events)
            continue
        if s.status != s.expected:
            problems.append(f"{s.kind} {s.key}: answered {s.status}, expected {s.expected}")
        if not s.acknowledged:
            if events:
                problems.append(f"{s.kind} {s.key}: refused ({s.status}) but wrote {events}")
            continue
        result = s.result or {}
        if not events:
            problems.append(f"{s.kind} {s.key}: acknowledged {result} but not in the log")
            continue
        versions = sorted(v for _, v, _ in events)
        if (
            {stream for stream, _, _ in events} != {str(result.get("order_id"))}
            or versions[-1] != result.get("version")
            or max(p for _, _, p in events) != result.get("position")
            or versions != list(range(versions[0], versions[-1] + 1))
        ):
            problems.append(f"{s.kind} {s.key}: acknowledged {result}, the log holds {events}")
    strangers = sorted(set(by_key) - known, key=str)
    if strangers:
        problems.append(f"events from commands no client sent: keys {strangers[:5]}")
    for stream, versions in streams.items():
        if sorted(versions) != list(range(1, len(versions) + 1)):
            problems.append(f"stream {stream}: versions {sorted(versions)} are not 1..n")
    return {
        "problems": problems,
        "events": len(rows),
        "acknowledged commands in the log": sum(1 for s in sent if s.acknowledged)
        - sum(1 for p in problems if "not in the log" in p),
        "in doubt (no answer), committed": in_doubt_committed,
        "in doubt (no answer), not committed": sum(1 for s in sent if s.status is None)
        - in_doubt_committed,
    }


def head_position(write_url: str) -> int:
    return _query(write_url, "SELECT COALESCE(MAX(position), 0) FROM eventlog_event")[0][0]


def checkpoints(read_url: str) -> dict[str, tuple[int, int]]:
    """Return {projection: (position, parked streams)}."""
    rows = _query(
        read_url,
        "SELECT c.name, c.position, (SELECT count(*) FROM orders_read_parkedstream p "
        "WHERE p.projection = c.name) FROM orders_read_checkpoint c",
    )
    return {name: (position, parked) for name, position, parked in rows}


def reached(stack: Stack, position: int) -> bool:
    """Whether every projection has applied the log up to `position` (False if a DB is down)."""
    try:
        marks = checkpoints(stack.read_url)
    except psycopg.OperationalError:
        return False
    return len(marks) == PROJECTIONS and all(p >= position for p, _ in marks.values())


def wait_converged(stack: Stack, seconds: float = 120) -> float:
    """Wait, with no manual step, until every projection is at the head; return the seconds."""
    began = time.monotonic()
    head = head_position(stack.write_url)
    while not reached(stack, head):
        if time.monotonic() - began > seconds:
            raise TimeoutError(
                f"projections at {checkpoints(stack.read_url)} did not reach the head {head} "
                f"within {seconds} s; see {stack.log('worker')}"
            )
        time.sleep(0.1)
    return time.monotonic() - began


def snapshot(read_url: str) -> dict[str, list[tuple]]:
    """Every read-model row, table by table, in primary-key order."""
    return {table: _query(read_url, f"SELECT * FROM {table} ORDER BY 1") for table in READ_TABLES}


def rebuild_differences(stack: Stack) -> list[str]:
    """Rebuild every projection from scratch (`manage.py rebuild_projections`), compare.

    Return what differs between the read model the worker built incrementally, through
    the faults, and the rebuild; an empty list when they are equal.
    """
    before = snapshot(stack.read_url)
    stack.manage("rebuild_projections")
    after = snapshot(stack.read_url)
    differences = []
    for table in READ_TABLES:
        # JSON columns come back as lists and dicts: compare rows by their text.
        old, new = set(map(repr, before[table])), set(map(repr, after[table]))
        if old != new:
            differences.append(
                f"{table}: {len(before[table])} rows incrementally, {len(after[table])} rebuilt; "
                f"only incremental {sorted(old - new)[:3]}, "
                f"only rebuilt {sorted(new - old)[:3]}"
            )
    return differences
