"""With DEBUG off, a missing or weak SECRET_KEY fails the checks and stops web, worker, beat."""

import subprocess
from pathlib import Path

import pytest
from django.core import checks
from django.core.checks.security.base import _check_secret_key
from hypothesis import example, given
from hypothesis import strategies as st

from config.secret_key import WEAK_SECRET_KEY, check_secret_key, weakness
from tests.processes import (
    BASE_DIR,
    PYTHON,
    START_SECONDS,
    beat_command,
    production_env,
    spawn,
    stop,
    wait_for_in_log,
    worker_command,
)

REFUSED = "SECRET_KEY is refused with DEBUG off"
# name: (SECRET_KEY, None for unset; what the message says about it)
WEAK_KEYS = {
    "unset": (None, "starts with 'django-insecure-'"),
    "empty": ("", "is empty"),
    "x": ("x", "has 1 characters, fewer than 50"),
    "50 times one character": ("a" * 50, "has 1 distinct characters, fewer than 5"),
}
weak_keys = pytest.mark.parametrize(("key", "reason"), WEAK_KEYS.values(), ids=WEAK_KEYS.keys())


def env_with(var_dir: Path, key: str | None) -> dict[str, str]:
    env = production_env(var_dir, SECRET_KEY=key or "")
    if key is None:
        del env["SECRET_KEY"]
    return env


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def assert_refused(done: subprocess.CompletedProcess, reason: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert REFUSED in output and reason in output, output


class TestDefinition:
    @given(st.text(max_size=80))
    @example("abcde" * 10)  # 50 characters, 5 distinct ones: the least Django accepts
    @example("abcd" * 13)
    @example("django-insecure-" + "0123456789" * 5)
    def test_weak_is_what_djangos_own_deploy_check_calls_weak(self, key):
        assert (weakness(key) is None) == _check_secret_key(key)

    def test_the_check_is_an_error_with_debug_off_and_silent_with_debug_on(self, settings):
        settings.SECRET_KEY = "x"
        settings.DEBUG = False
        [error] = check_secret_key()
        assert error.level == checks.ERROR and error.id == WEAK_SECRET_KEY
        assert error.msg == f"{REFUSED}: it has 1 characters, fewer than 50."
        assert error in checks.run_checks(tags=[checks.Tags.security])
        settings.DEBUG = True
        assert check_secret_key() == []


@weak_keys
def test_check_deploy_fails(tmp_path, key, reason):
    done = run([PYTHON, "manage.py", "check", "--deploy"], env_with(tmp_path, key))
    assert_refused(done, reason)
    assert f"({WEAK_SECRET_KEY})" in done.stderr


@weak_keys
def test_the_wsgi_application_does_not_load(tmp_path, key, reason):
    assert_refused(run([PYTHON, "-c", "import config.wsgi"], env_with(tmp_path, key)), reason)


def test_gunicorn_exits_at_start(tmp_path):
    command = [PYTHON, "-m", "gunicorn", "config.wsgi", "--no-control-socket", "--workers", "1"]
    done = run([*command, "--bind", "127.0.0.1:0"], env_with(tmp_path, "x"))
    assert_refused(done, WEAK_KEYS["x"][1])


@weak_keys
def test_the_worker_exits_at_start(tmp_path, key, reason):
    assert_refused(run(worker_command(1), env_with(tmp_path, key)), reason)


def test_beat_exits_at_start(tmp_path):
    done = run(beat_command(tmp_path / "schedule"), env_with(tmp_path, "x"))
    assert_refused(done, WEAK_KEYS["x"][1])


def test_a_strong_key_passes_the_check_and_loads_the_wsgi_application(tmp_path):
    env = production_env(tmp_path)
    for command in (
        [PYTHON, "manage.py", "check", "--deploy"],
        [PYTHON, "-c", "import config.wsgi"],
    ):
        done = run(command, env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert REFUSED not in done.stdout + done.stderr


def test_a_strong_key_lets_the_worker_start(tmp_path):
    log = tmp_path / "worker.log"
    # No broker URL: the in-memory transport, enough for the worker to come up.
    worker = spawn(worker_command(1), log, production_env(tmp_path))
    try:
        wait_for_in_log(log, " ready.", START_SECONDS * 2)
    finally:
        stop(worker)
    assert REFUSED not in log.read_text()
