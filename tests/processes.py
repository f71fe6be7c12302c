"""Real processes for end-to-end tests: Celery workers and beat, gunicorn, and a client.

Each child runs on the test's own databases (or on URLs the test passes), logs to a
file the test names, and is stopped with the signal the test chooses.
"""

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

BASE_DIR = Path(settings.BASE_DIR)
PYTHON = sys.executable
START_SECONDS = 30  # a bound for slow CI machines, not an expectation


def database_url(alias: str) -> str:
    """Return a URL for the test database behind an alias, for a child process."""
    db = connections[alias].settings_dict
    if connections[alias].vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{db['USER']}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    """Return the environment for a child process on this test's databases.

    `extra` wins, so a test can point a child at other databases or another broker.
    """
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url("default"),
        "READ_DATABASE_URL": database_url("read"),
        "PYTHONPATH": str(BASE_DIR),
        "ORDINAL_SWEEP_SECONDS": "2",
        "LOG_FORMAT": "plain",
        **extra,
    }


def production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """Return the environment of a production process (DEBUG off) on the embedded default.

    A strong generated SECRET_KEY and master key unless `extra` names them; SQLite files
    under `var_dir`.
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(BASE_DIR),
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ORDINAL_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "orders.example.com",
        "ORDINAL_VAR_DIR": str(var_dir),
        **extra,
    }
    for name in ("DATABASE_URL", "READ_DATABASE_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    return env


def spawn(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def worker_command(concurrency: int = 4, pool: str = "threads") -> list[str]:
    """Return a `celery -A config worker` command (thread pool unless told, uniquely named)."""
    command = [PYTHON, "-m", "celery", "-A", "config", "--quiet", "worker"]
    command += ["--pool", pool, "--concurrency", str(concurrency), "--loglevel", "INFO"]
    name = f"readside-{uuid.uuid4().hex}@%h"
    return [*command, "--without-mingle", "--without-gossip", "-n", name]


def beat_command(schedule: Path) -> list[str]:
    """Return the command of a `celery -A config beat` keeping its schedule in `schedule`."""
    command = [PYTHON, "-m", "celery", "-A", "config", "--quiet", "beat", "--loglevel", "INFO"]
    return [*command, "--schedule", str(schedule)]


def start_worker(
    log: Path, *, concurrency: int = 4, pool: str = "threads", **extra_env: str
) -> subprocess.Popen:
    """Start `celery -A config worker` (thread pool unless told) on the test's databases."""
    return spawn(worker_command(concurrency, pool), log, child_env(**extra_env))


def start_beat(log: Path, schedule: Path, **extra_env: str) -> subprocess.Popen:
    """Start `celery -A config beat`, which sends the periodic sweep."""
    return spawn(beat_command(schedule), log, child_env(**extra_env))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(
    log: Path,
    port: int,
    *,
    threads: int = 4,
    workers: int = 1,
    options: tuple[str, ...] = (),
    **extra_env: str,
) -> subprocess.Popen:
    """Start gunicorn on `port` and wait until /healthz answers.

    `options` are more gunicorn command-line options (e.g. an access log).
    """
    command = [PYTHON, "-m", "gunicorn", "config.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--threads", str(threads), *options]
    command += ["--no-control-socket"]  # leave a running gunicorn's socket alone
    # As the Procfile: gunicorn's own lines and access lines through the project's logging.
    command += ["--logger-class", "config.gunicorn_logging.GunicornLogger", "--access-logfile", "-"]
    web = spawn(command, log, child_env(**extra_env))
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


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Send `sig` (SIGKILL for a crash) and reap the process; kill it if it lingers."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_until(condition: Callable[[], bool], what: str, log: Path, seconds: float = 90) -> None:
    """Poll `condition` until it holds; fail with `what` and the log's tail if it never does."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text()[-4000:]
            pytest.fail(f"{what} did not happen within {seconds} s; log:\n{tail}")
        time.sleep(0.2)


def wait_for_in_log(log: Path, text: str, seconds: float = 90) -> None:
    """Wait until a child has logged `text`."""
    wait_until(lambda: text in log.read_text(), f"the log line {text!r}", log, seconds)


class Api:
    """A JSON client for a web process, authenticated with a token."""

    def __init__(self, port: int, token: str) -> None:
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def call(self, method: str, path: str, body: dict | None = None, **headers: str):
        """Return (status, decoded JSON body); error statuses are answers, not exceptions."""
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
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                return error.code, json.loads(body or b"null")
            except ValueError:
                return error.code, body.decode(errors="replace")
