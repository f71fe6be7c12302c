"""The client loops of the online-rebuild benchmark, and the checks of what they saw.

Two loops over HTTP: commands (POST an order, then GET it with `?min_position=` until
200: read-your-writes) and queries (a few GETs in turn, each answer kept with its
`X-Read-Position`, to be checked against the log once the phase is over).
"""

import bisect
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

CUSTOMER = "bench-online"  # the commands place orders for this customer
QUANTITY = 2
ORDER = {  # every command's body
    "customer_id": CUSTOMER,
    "currency": "EUR",
    "items": [{"sku": "ONLINE-1", "quantity": QUANTITY, "unit_price": "1.00"}],
}


@dataclass
class Loops:
    """The two client loops of one phase and what they saw (wall-clock send times)."""

    url: str
    token: str
    rate: float
    threads: int
    query_rate: float
    paths: dict[str, str]  # the queries asked, by kind
    stop: threading.Event = field(default_factory=threading.Event)
    commands: list[tuple[float, float | None]] = field(default_factory=list)  # sent, ms
    answers: list[tuple[float, str, int, Any]] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # (sent, status or 0) of each request
    running: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        period = self.threads / self.rate
        for n in range(self.threads):
            self._thread(self._command_loop, period, n * period / self.threads)
        self._thread(self._query_loop, 1 / self.query_rate, 0.0)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.running:
            thread.join()

    def _thread(self, loop: Callable[[float, float], None], period: float, delay: float) -> None:
        thread = threading.Thread(target=loop, args=(period, delay), daemon=True)
        thread.start()
        self.running.append(thread)

    def _paced(self, period: float, delay: float):
        """Yield at a steady pace; late iterations start at once, without a burst after."""
        next_at = time.monotonic() + delay
        while not self.stop.wait(max(0.0, next_at - time.monotonic())):
            yield
            next_at = max(next_at + period, time.monotonic())

    def _send(self, session: requests.Session, method: str, path: str, **kwargs):
        sent = time.time()
        try:
            response = session.request(method, self.url + path, timeout=30, **kwargs)
        except requests.RequestException:
            self.statuses[(sent, 0)] += 1  # no answer at all
            return None
        self.statuses[(sent, response.status_code)] += 1
        return response

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        return session

    def _command_loop(self, period: float, delay: float) -> None:
        session = self._session()
        for _ in self._paced(period, delay):
            sent, started, latency = time.time(), time.perf_counter(), None
            placed = self._send(session, "POST", "/api/orders/", json=ORDER)
            if placed is not None and placed.status_code == 201:
                done = placed.json()
                path = f"/api/orders/{done['order_id']}/?min_position={done['position']}"
                # A 503 means the read model stayed behind for the whole wait: ask again.
                answer = self._send(session, "GET", path)
                while answer is not None and answer.status_code == 503 and not self.stop.is_set():
                    answer = self._send(session, "GET", path)
                if answer is not None and answer.status_code == 200:
                    latency = (time.perf_counter() - started) * 1000
            self.commands.append((sent, latency))

    def _query_loop(self, period: float, delay: float) -> None:
        session, kinds = self._session(), list(self.paths)
        for n, _ in enumerate(self._paced(period, delay)):
            kind = kinds[n % len(kinds)]
            sent = time.time()
            answer = self._send(session, "GET", self.paths[kind])
            if answer is not None and answer.status_code in (200, 404):
                # A 404 of a customer that has orders is an answer missing them all.
                value = figure(kind, answer.json()) if answer.status_code == 200 else None
                position = int(answer.headers["X-Read-Position"])
                self.answers.append((sent, kind, position, value))


def figure(kind: str, body: Any) -> Any:
    """What an answer is checked by: units sold in all, orders counted, or the whole body."""
    if kind == "report":
        return sum(row["units_sold"] for row in body)
    if kind == "customer":
        return body["orders_count"]
    return body


def check(
    answers: list[tuple[float, str, int, Any]], before: dict[str, Any], placed: list[int]
) -> Counter:
    """Count the answers missing events their read position covers, or holding too many.

    An answer is incomplete when it is a 404 (None), holds fewer of the placed orders
    than its read position covers, less than the answer of its kind before it, or (seeded
    customer) differs at all; it is wrong when it holds more than the log does.
    """
    counts, last = Counter(), dict(before)
    per_order = {"report": QUANTITY, "customer": 1}
    for _, kind, position, value in answers:
        counts["checked"] += 1
        if kind == "seeded" or value is None:
            counts["incomplete"] += value != before[kind]
            continue
        covered = bisect.bisect_right(placed, position)
        low = before[kind] + per_order[kind] * covered
        high = before[kind] + per_order[kind] * len(placed)
        counts["incomplete"] += value < low or value < last[kind]
        counts["wrong"] += value > high
        last[kind] = value
    return counts


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95, p99 (nearest rank) and max of sorted values, or None without any."""

    def rank(fraction: float) -> float | None:
        return values[min(len(values) - 1, int(fraction * len(values)))] if values else None

    return {
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": values[-1] if values else None,
    }
