"""Password guessing (DESIGN §9): every door that takes a password locks out, per username
(10 failures) and per client address (50), with a 429 problem or the lockout page.

The doors: the token endpoint (JSON and form bodies), HTTP Basic on every API endpoint,
the admin login and the browsable API's login. Counters are in the cache (cleared before
each test); test_brute_force_workers proves they are shared between processes.
"""

import io
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.checks import Tags, run_checks
from django.core.management import call_command
from django.test import Client

from tests.orders_write.conftest import assert_problem
from tests.orders_write.test_api_auth import basic
from tests.processes import BASE_DIR, PYTHON, child_env

pytestmark = pytest.mark.django_db(databases=["default", "read"])

RIGHT = "pw-secret-1"  # the password of the `make_user` fixture's users
WRONG = "not-the-password"
HOME, ELSEWHERE = "192.0.2.10", "192.0.2.20"  # client addresses (REMOTE_ADDR)
PER_USERNAME, PER_ADDRESS = 10, 50
COOL_OFF_SECONDS = 15 * 60


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Hash with MD5 here: 50 logins with Django's PBKDF2 would take half a minute."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def users(make_user):
    """Two staff accounts, so that the right password opens every door, the admin's too."""
    make_user("stella", staff=True)
    make_user("sam", staff=True)


@dataclass(frozen=True)
class Door:
    """One way to send a username and password, and what it answers."""

    name: str
    send: Callable[..., object]  # (username, password, address, **headers) -> response
    failed: int  # the status of a wrong password
    succeeded: int
    api: bool  # locked out: a 429 problem (API) or the lockout page (login forms)

    def fail(self, username: str, times: int, address: str = HOME) -> list:
        return [self.send(username, WRONG, address) for _ in range(times)]


def _token(content_type: str, encode: Callable[[dict], str]):
    def send(username, password, address, **headers):
        body = encode({"username": username, "password": password})
        return Client().post(
            "/api/auth/token/", body, content_type=content_type, REMOTE_ADDR=address, **headers
        )

    return send


def _basic(method: str = "GET", path: str = "/api/orders/"):
    def send(username, password, address, **headers):
        return Client().generic(
            method,
            path,
            "{}" if method == "POST" else "",
            content_type="application/json",
            HTTP_AUTHORIZATION=basic(username, password),
            REMOTE_ADDR=address,
            **headers,
        )

    return send


def _login_form(path: str):
    def send(username, password, address, **headers):
        body = {"username": username, "password": password, "next": "/admin/"}
        headers.setdefault("HTTP_ACCEPT", "text/html")
        return Client().post(path, body, REMOTE_ADDR=address, **headers)

    return send


TOKEN_JSON = Door("token-json", _token("application/json", json.dumps), 400, 200, api=True)
TOKEN_FORM = Door(
    "token-form", _token("application/x-www-form-urlencoded", urlencode), 400, 200, api=True
)
BASIC = Door("basic", _basic(), 401, 200, api=True)
# A login form answers a wrong password with the form again (200), a right one with a redirect.
ADMIN = Door("admin", _login_form("/admin/login/"), 200, 302, api=False)
API_LOGIN = Door("api-login", _login_form("/api/auth/login/"), 200, 302, api=False)
DOORS = [TOKEN_JSON, TOKEN_FORM, BASIC, ADMIN, API_LOGIN]
by_name = {"ids": lambda door: door.name}

# DESIGN §5: every API endpoint, each of which takes HTTP Basic.
# A fixed id: test ids must be the same in every process (pytest -n collects per worker).
ORDER = "/api/orders/3f0c2b7e-8a1d-4c7e-9d51-0b6a4e2f7c11/"
ENDPOINTS = [
    ("POST", "/api/auth/token/"),
    ("POST", "/api/orders/"),
    *[("POST", f"{ORDER}{action}/") for action in ("add-item", "change-quantity", "remove-item")],
    *[("POST", f"{ORDER}{action}/") for action in ("ship", "cancel")],
    ("GET", "/api/orders/"),
    ("GET", ORDER),
    ("GET", f"{ORDER}history/"),
    ("GET", "/api/customers/stella/"),
    ("GET", "/api/customers/stella/orders/"),
    ("GET", "/api/reports/product-sales/"),
    ("GET", "/api/projections/"),
]


def assert_answer(door: Door, response, expected: int) -> None:
    assert response.status_code == expected, (door.name, response.content[:300])


def assert_locked_out(door: Door, response) -> int:
    """Check a lockout answer; return its Retry-After (seconds)."""
    if door.api:
        body = assert_problem(response, 429, code="locked-out")
        assert body["title"] == "Too Many Requests"
    else:
        assert response.status_code == 429, (door.name, response.content[:300])
        assert response["Content-Type"].startswith("text/html")
        assert b"Too many failed logins" in response.content
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= COOL_OFF_SECONDS
    return retry_after


# --- per username --------------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS, **by_name)
def test_ten_failures_lock_the_username_even_with_the_right_password(users, door):
    answers = door.fail("stella", PER_USERNAME)
    for response in answers[:-1]:
        assert_answer(door, response, door.failed)
    # The 10th failure is told at once; then the right password is refused too,
    # from any address (an attacker may change address).
    assert_locked_out(door, answers[-1])
    assert_locked_out(door, door.send("stella", RIGHT, HOME))
    assert_locked_out(door, door.send("stella", RIGHT, ELSEWHERE))
    # Another username, from the same address, logs in.
    assert_answer(door, door.send("sam", RIGHT, HOME), door.succeeded)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_http_basic_counts_and_locks_out_on_every_endpoint(users, method, path):
    door = Door("basic", _basic(method, path), 401, 0, api=True)
    for response in TOKEN_JSON.fail("stella", PER_USERNAME - 1):
        assert_answer(TOKEN_JSON, response, 400)
    # The 10th failure, on this endpoint, locks: its own counting is seen.
    assert_locked_out(door, door.fail("stella", 1)[0])
    assert_locked_out(door, door.send("stella", RIGHT, HOME))


def test_failures_count_across_doors(users):
    """One counter per username, whichever door the guesses come through."""
    answers = [(door, response) for door in DOORS for response in door.fail("stella", 2)]
    for door, response in answers[:-1]:
        assert_answer(door, response, door.failed)
    assert_locked_out(*answers[-1])
    for door in DOORS:
        assert_locked_out(door, door.send("stella", RIGHT, HOME))


def test_a_locked_out_json_client_of_the_browsable_login_gets_a_problem(users):
    API_LOGIN.fail("stella", PER_USERNAME)
    response = API_LOGIN.send("stella", RIGHT, HOME, HTTP_ACCEPT="application/json")
    assert_problem(response, 429, code="locked-out")
    assert int(response["Retry-After"]) >= 1


# --- per address ---------------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS, **by_name)
def test_fifty_failures_from_one_address_lock_it_for_every_username(users, door):
    # One guess each for 50 usernames: no username reaches its own limit.
    answers = [door.send(f"guess-{n}", WRONG, HOME) for n in range(PER_ADDRESS)]
    for response in answers[:-1]:
        assert_answer(door, response, door.failed)
    assert_locked_out(door, answers[-1])
    # Locked from that address, whoever logs in; the same account from elsewhere is not.
    assert_locked_out(door, door.send("sam", RIGHT, HOME))
    assert_answer(door, door.send("sam", RIGHT, ELSEWHERE), door.succeeded)


def test_the_address_is_remote_addr_not_a_forwarded_for_header(users):
    """By default nothing the client sends names its address: X-Forwarded-For is ignored."""
    for n in range(PER_ADDRESS):
        headers = {"HTTP_X_FORWARDED_FOR": f"198.51.100.{n}"}
        TOKEN_JSON.send(f"guess-{n}", WRONG, HOME, **headers)
    assert_locked_out(TOKEN_JSON, TOKEN_JSON.send("sam", RIGHT, HOME))
    # Nor can a client borrow the locked address's name.
    response = TOKEN_JSON.send("sam", RIGHT, ELSEWHERE, HTTP_X_FORWARDED_FOR=HOME)
    assert_answer(TOKEN_JSON, response, 200)


def test_behind_trusted_proxies_the_address_is_the_one_the_nearest_proxy_saw():
    """TRUSTED_PROXY_COUNT=N (settings, read at start): the N-th X-Forwarded-For entry
    from the right, which the proxies wrote; what the client put before it is ignored."""
    script = (
        "import django, json, sys; django.setup()\n"
        "from axes.helpers import get_client_ip_address\n"
        "from django.test import RequestFactory\n"
        "for meta in json.loads(sys.argv[1]):\n"
        "    print(get_client_ip_address(RequestFactory().get('/', **meta)))\n"
    )
    proxy = "10.0.0.3"  # REMOTE_ADDR: the nearest proxy
    metas = [
        {"REMOTE_ADDR": proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"REMOTE_ADDR": proxy, "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9"},  # spoofed
        {"REMOTE_ADDR": proxy},  # reached the app without the proxy
    ]
    expected = {
        "0": [proxy, proxy, proxy],
        "1": ["203.0.113.9", "203.0.113.9", proxy],
    }
    for count, addresses in expected.items():
        done = subprocess.run(
            [PYTHON, "-c", script, json.dumps(metas)],
            cwd=BASE_DIR,
            env=child_env(TRUSTED_PROXY_COUNT=count),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert done.stdout.split() == addresses, (count, done.stdout, done.stderr[-2000:])


# --- what a success does not do, and the window ---------------------------------------------


@pytest.mark.parametrize("success", [ADMIN, API_LOGIN], **by_name)
def test_a_successful_login_resets_no_counter(users, success):
    """An attacker who owns an account cannot clear the counters between guesses: a
    login (Django's user_logged_in, which axes can reset on) leaves them as they were."""
    TOKEN_JSON.fail("stella", PER_USERNAME - 1)
    for n in range(PER_ADDRESS - PER_USERNAME):
        TOKEN_JSON.send(f"guess-{n}", WRONG, HOME)
    # 49 failures from HOME, 9 of them for stella; now sam logs in from HOME.
    assert_answer(success, success.send("sam", RIGHT, HOME), success.succeeded)
    # The next failure still locks stella and HOME.
    assert_locked_out(TOKEN_JSON, TOKEN_JSON.send("stella", WRONG, ELSEWHERE))
    assert_locked_out(TOKEN_JSON, TOKEN_JSON.send("guess-x", WRONG, HOME))
    assert_locked_out(TOKEN_JSON, TOKEN_JSON.send("sam", RIGHT, HOME))


@pytest.mark.parametrize("door", DOORS, **by_name)
def test_the_lockout_ends_when_its_window_has_passed(settings, users, door):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=3)
    door.fail("stella", PER_USERNAME)
    first = assert_locked_out(door, door.send("stella", RIGHT, HOME))
    assert first <= 3
    time.sleep(1.2)
    # Refused attempts during the lockout do not extend it: Retry-After counts down.
    later = assert_locked_out(door, door.send("stella", RIGHT, HOME))
    assert later < first
    time.sleep(later + 0.2)
    assert_answer(door, door.send("stella", RIGHT, HOME), door.succeeded)


def test_retry_after_is_the_fifteen_minute_window(users):
    TOKEN_JSON.fail("stella", PER_USERNAME)
    retry_after = assert_locked_out(TOKEN_JSON, TOKEN_JSON.send("stella", RIGHT, HOME))
    assert retry_after >= COOL_OFF_SECONDS - 5


def test_staff_lift_a_lockout_with_axes_reset_commands(users):
    TOKEN_JSON.fail("stella", PER_USERNAME)
    for n in range(PER_ADDRESS):
        TOKEN_JSON.send(f"guess-{n}", WRONG, ELSEWHERE)
    call_command("axes_reset_username", "stella", stdout=io.StringIO())
    assert_answer(TOKEN_JSON, TOKEN_JSON.send("stella", RIGHT, HOME), 200)
    assert_locked_out(TOKEN_JSON, TOKEN_JSON.send("sam", RIGHT, ELSEWHERE))
    call_command("axes_reset_ip", ELSEWHERE, stdout=io.StringIO())
    assert_answer(TOKEN_JSON, TOKEN_JSON.send("sam", RIGHT, ELSEWHERE), 200)


# --- production settings -----------------------------------------------------------------


def deploy_warnings() -> list[str]:
    return [m.id for m in run_checks(tags=[Tags.caches], include_deployment_checks=True)]


def test_check_deploy_warns_when_the_cache_is_per_process(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "ordinal.W001" in deploy_warnings()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/1",
        }
    }
    assert "ordinal.W001" not in deploy_warnings()
