"""Two gunicorn workers share the failed-login counters (DESIGN §9): they live in Redis.

DRF's throttles and a local-memory cache count per process, so two workers would double
every limit. Here the failures for one username are spread over both workers of a real
gunicorn (each request on a new connection; the access log names the worker's pid),
and the lockout still comes at the 10th.
"""

import json
import re
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import postgres_only
from tests.orders_write.test_api_auth import basic
from tests.processes import free_port, start_web, stop
from tests.reliability.servers import PrivateRedis

pytestmark = [
    postgres_only,  # the workers and the test share the test databases
    pytest.mark.django_db(transaction=True, databases=["default", "read"]),
]

RIGHT, WRONG = "pw-secret-1", "not-the-password"
ACCESS_FORMAT = "access pid=%(p)s %(m)s %(U)s %(s)s"
ACCESS_LINE = re.compile(r"access pid=<?(\d+)>? (\w+) (\S+) (\d{3})")
LOCKED_PAIRS = 25  # a bound on the pairs sent until both workers have refused one


@pytest.fixture
def shared_cache_url():
    """The Redis that the test run's CACHE_URL names (cleared before each test), else a
    private one."""
    cache = settings.CACHES["default"]
    if cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        yield cache["LOCATION"]
        return
    server = PrivateRedis()
    server.start()
    try:
        yield server.url(0)
    finally:
        server.destroy()


class Web:
    """Requests to a gunicorn, each on a new connection."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def send(self, request: urllib.request.Request) -> tuple[int, dict]:
        request.add_header("Connection", "close")
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers)

    def token(self, username: str, password: str) -> tuple[int, dict]:
        body = json.dumps({"username": username, "password": password}).encode()
        return self.send(
            urllib.request.Request(
                self.base + "/api/auth/token/",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
        )

    def basic(self, username: str, password: str) -> tuple[int, dict]:
        headers = {"Authorization": basic(username, password)}
        return self.send(urllib.request.Request(self.base + "/api/orders/", headers=headers))

    def at_once(self, username: str, password: str) -> list[int]:
        """Send a token request and a Basic one together: while one worker hashes a
        password, the other worker takes the second connection."""
        with ThreadPoolExecutor(2) as pool:
            token = pool.submit(self.token, username, password)
            basic = pool.submit(self.basic, username, password)
            answers = [token.result(), basic.result()]
        for status, headers in answers:
            if status == 429:
                assert 1 <= int(headers["Retry-After"]) <= 900
        return [status for status, _ in answers]


def workers_by_answer(log: Path) -> dict[tuple[str, str, str], set[str]]:
    """Return {(method, path, status): pids of the workers that answered it} from the log."""
    served: dict = defaultdict(set)
    for pid, method, path, status in ACCESS_LINE.findall(log.read_text()):
        served[method, path, status].add(pid)
    return served


def refused_by(served: dict) -> set[str]:
    return served["POST", "/api/auth/token/", "429"] | served["GET", "/api/orders/", "429"]


def test_two_workers_count_failures_in_one_shared_counter(make_user, tmp_path, shared_cache_url):
    make_user("stella")
    make_user("sam")
    log, port = tmp_path / "web.log", free_port()
    options = ("--access-logfile", "-", "--access-logformat", ACCESS_FORMAT)
    web_process = start_web(
        log,
        port,
        threads=1,  # sync workers: one request at a time each
        workers=2,
        options=options,
        CACHE_URL=shared_cache_url,
        PYTHONUNBUFFERED="1",  # the access log is read while gunicorn runs
    )
    try:
        web = Web(port)
        # Five pairs of wrong passwords: 8 failures, then the 9th and the 10th.
        failures = [web.at_once("stella", WRONG) for _ in range(5)]
        assert all(sorted(pair) == [400, 401] for pair in failures[:4]), failures
        # The 10th failure is answered with the lockout; the 9th too if it was still
        # running when the 10th was counted (the username is locked when it answers).
        assert 429 in failures[4] and set(failures[4]) <= {400, 401, 429}, failures
        # Both workers now refuse the right password: send pairs until each has.
        for _ in range(LOCKED_PAIRS):
            assert web.at_once("stella", RIGHT) == [429, 429]
            if len(refused_by(workers_by_answer(log))) == 2:
                break
        # Another username is not locked out.
        assert web.token("sam", RIGHT)[0] == 200
    finally:
        stop(web_process)

    served = workers_by_answer(log)
    counted = served["POST", "/api/auth/token/", "400"] | served["GET", "/api/orders/", "401"]
    assert len(counted) == 2, f"one worker served every failure: {served}"
    assert len(refused_by(served)) == 2, f"one worker refused every locked-out login: {served}"
