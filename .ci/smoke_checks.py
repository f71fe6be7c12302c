"""The smoke test's HTTP checks against a running full stack (standard library only)."""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass

BASE = "http://127.0.0.1:{port}"
ORDERS = 3
# A query with ?min_position= waits ORDINAL_READ_WAIT_SECONDS (3 s) and then answers 503;
# the worker gets this long to project the orders before the smoke gives up.
PROJECTION_SECONDS = 30
# The beat sweep runs every ORDINAL_SWEEP_SECONDS (5 s).
BEAT_SECONDS = 20
ORDER_BODY = {
    "currency": "EUR",
    "items": [{"sku": "MUG-01", "quantity": 2, "unit_price": "9.50"}],
}


class SmokeFailure(Exception):
    """A check failed; the message says which and what was seen."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> dict:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise SmokeFailure(f"not JSON (status {self.status}): {self.body[:300]!r}") from exc


class Client:
    """A tiny HTTP client for one stack: every request bounded, no redirects followed."""

    def __init__(self, port: int) -> None:
        self.base = BASE.format(port=port)
        self.headers: dict[str, str] = {}

    def request(self, method: str, path: str, *, data: bytes | None = None, **headers) -> Answer:
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={**self.headers, **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Answer(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read().decode())

    def post_json(self, path: str, body: dict, **headers) -> Answer:
        data = json.dumps(body).encode()
        return self.request(
            "POST", path, data=data, **{"Content-Type": "application/json"}, **headers
        )


def wait_until_ready(client: Client, alive: Callable[[], bool], seconds: float) -> dict:
    """Poll /readyz until it answers 200; fail as soon as the stack's processes exit."""
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        if not alive():
            raise SmokeFailure(f"the README's commands exited before /readyz answered 200 ({last})")
        try:
            answer = client.request("GET", "/readyz")
        except OSError as exc:
            last = last if last.startswith("last answer") else f"no answer: {exc}"
        else:
            if answer.status == 200:
                return answer.json()
            last = f"last answer {answer.status}: {answer.body[:300]}"
        time.sleep(0.5)
    raise SmokeFailure(f"/readyz did not answer 200 within {seconds:.0f} s ({last})")


def log_in(client: Client, username: str, password: str) -> None:
    """Get a token as the README's curl does (a form post) and use it from now on."""
    form = urllib.parse.urlencode({"username": username, "password": password}).encode()
    answer = client.request(
        "POST",
        "/api/auth/token/",
        data=form,
        **{"Content-Type": "application/x-www-form-urlencoded"},
    )
    if answer.status != 200 or "token" not in answer.json():
        raise SmokeFailure(f"POST /api/auth/token/ gave {answer.status}: {answer.body[:300]}")
    client.headers["Authorization"] = f"Token {answer.json()['token']}"


def place_orders(client: Client) -> list[tuple[str, int, str]]:
    """Place orders over HTTP; return (order id, position, request id) for each."""
    placed = []
    for _ in range(ORDERS):
        request_id = f"smoke-{uuid.uuid4()}"
        answer = client.post_json("/api/orders/", ORDER_BODY, **{"X-Request-ID": request_id})
        body = answer.json()
        if answer.status != 201 or "Location" not in answer.headers:
            raise SmokeFailure(f"POST /api/orders/ gave {answer.status}: {answer.body[:300]}")
        placed.append((body["order_id"], body["position"], request_id))
    return placed


def read_back(client: Client, placed: list[tuple[str, int, str]]) -> None:
    """Read every order with ?min_position=: 200 once the worker has projected it."""
    deadline = time.monotonic() + PROJECTION_SECONDS
    for order_id, position, _ in placed:
        path = f"/api/orders/{order_id}/?min_position={position}"
        answer = _until_not_503(client, path, deadline)
        body = answer.json()
        if answer.status != 200 or body.get("order_id") != order_id:
            raise SmokeFailure(f"GET {path} gave {answer.status}: {answer.body[:300]}")
        if int(answer.headers.get("X-Read-Position", -1)) < position:
            raise SmokeFailure(f"GET {path}: X-Read-Position {answer.headers} is behind")
    newest = max(position for _, position, _ in placed)
    answer = _until_not_503(client, f"/api/orders/?min_position={newest}", deadline)
    listed = {row["order_id"] for row in answer.json().get("results", [])}
    missing = {order_id for order_id, _, _ in placed} - listed
    if answer.status != 200 or missing:
        raise SmokeFailure(f"the order list misses {sorted(missing)}: {answer.body[:300]}")


def _until_not_503(client: Client, path: str, deadline: float) -> Answer:
    while True:
        answer = client.request("GET", path)
        if answer.status != 503 or time.monotonic() > deadline:
            return answer


def worker_ran_the_tasks(log: Callable[[], str], placed: list[tuple[str, int, str]]) -> None:
    """Check the worker (not the web process, so not eagerly) ran a command's task."""
    request_ids = {request_id for _, _, request_id in placed}
    worker = _wait_for_line(
        log, "worker", lambda line: "succeeded" in line and any(r in line for r in request_ids)
    )
    if worker is None:
        raise SmokeFailure(
            "no worker line shows a task that succeeded under a command's X-Request-ID "
            f"{sorted(request_ids)}"
        )


def beat_sent_the_sweep(log: Callable[[], str]) -> None:
    """Check beat sent the periodic sweep."""
    sweep = _wait_for_line(log, "beat", lambda line: "Sending due task projections-sweep" in line)
    if sweep is None:
        raise SmokeFailure(f"beat did not send the projections-sweep within {BEAT_SECONDS} s")


def _wait_for_line(log: Callable[[], str], process: str, wanted: Callable[[str], bool]):
    pattern = re.compile(rf"^\S+ {process}\.\d+\s+\| (.*)$", re.MULTILINE)
    deadline = time.monotonic() + BEAT_SECONDS
    while time.monotonic() < deadline:
        for line in pattern.findall(log()):
            if wanted(line):
                return line
        time.sleep(0.5)
    return None
