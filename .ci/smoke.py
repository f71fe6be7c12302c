"""CI full-stack smoke test: the README's own commands, from a runtime-only venv.

Copies the working tree to var/smoke/clone, builds its venv with the README's quick-start
install command (requirements.txt only), then, once per broker (Redis, then RabbitMQ),
runs the README's "Running the full stack" block word for word, except for the database
names and the broker URL, and checks the running web, worker and beat over HTTP and in
their log. Everything it started is stopped, and its databases dropped, also on failure; the copy
stays for a look until the next run replaces it.

    python3 .ci/smoke.py [redis] [amqp]

Environment: SMOKE_DB_PREFIX (ordinal_smoke: databases <prefix>_write and <prefix>_read,
dropped and created), SMOKE_REDIS_URL, SMOKE_AMQP_URL. It needs PostgreSQL on
127.0.0.1:5432 (as the README's commands do) and port 8000 free.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import smoke_checks as checks

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "smoke"
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"
SECTION = "### Running the full stack"
README_BROKER = "redis://127.0.0.1:6379/0"
BROKERS = {
    "redis": os.environ.get("SMOKE_REDIS_URL", README_BROKER),
    "amqp": os.environ.get("SMOKE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}
PREFIX = os.environ.get("SMOKE_DB_PREFIX", "ordinal_smoke")
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
PORT = 8000  # where the README says honcho serves
INSTALL_SECONDS = 900
STARTUP_SECONDS = 120  # the migrations run first
STOP_SECONDS = 20  # honcho gives its processes 5 s after SIGTERM, then kills them
# Marks every process a run starts (children inherit it), so none can be left behind.
MARKER = "ORDINAL_SMOKE_RUN"
# What a fresh login shell would have: nothing of the CI's own settings leaks in.
KEPT_ENV = re.compile(
    r"PATH|HOME|USER|LOGNAME|SHELL|TMPDIR|LANG|LC_\w+|TZ|PIP_\w+|SSL_CERT_\w+"
    r"|(?i:https?_proxy|no_proxy)"
)


def main(brokers: list[str]) -> int:
    """Run the smoke test on each broker; return the exit status."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so cleanup runs
    readme = (ROOT / "README.md").read_text()
    try:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", PREFIX):
            raise checks.SmokeFailure(f"SMOKE_DB_PREFIX {PREFIX!r}: lower-case letters, digits, _")
        block = _readme_block(readme)
        if INSTALL not in readme:
            raise checks.SmokeFailure(f"README.md no longer contains {INSTALL!r}")
        for broker in brokers:
            if broker not in BROKERS:
                raise checks.SmokeFailure(f"unknown broker {broker!r}: pick from {list(BROKERS)}")
        # Checked before the long venv build, so a README edit that breaks them fails fast.
        scripts = {broker: _substitute(block, _names(broker)) for broker in brokers}
        customer = _customer(block)
        began = time.monotonic()
        clone = _fresh_copy()
        _run(["bash", "-c", INSTALL], clone, INSTALL_SECONDS, "the venv of requirements.txt")
        print(f"smoke: copy and venv of requirements.txt ready in {_since(began)}")
        for broker in brokers:
            started = time.monotonic()
            _stack(clone, scripts[broker], customer, broker)
            print(f"smoke: {broker}: passed in {_since(started)}")
        print(f"smoke: passed in {_since(began)}")
    except checks.SmokeFailure as failure:
        print(f"smoke: FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


def _since(started: float) -> str:
    return f"{time.monotonic() - started:.0f} s"


def _readme_block(readme: str) -> str:
    """Return the first ```sh block after the README's full-stack heading."""
    found = re.search(re.escape(SECTION) + r".*?\n```sh\n(.*?)\n```", readme, re.DOTALL)
    if found is None:
        raise checks.SmokeFailure(f"README.md has no ```sh block under {SECTION!r}")
    return found.group(1)


def _fresh_copy() -> Path:
    """Copy the files git would check out (committed or not) to an empty directory."""
    clone = WORK / "clone"
    shutil.rmtree(clone, ignore_errors=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
    )
    if listed.returncode != 0:
        raise checks.SmokeFailure(f"git ls-files failed: {listed.stderr.decode().strip()}")
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # not a file deleted in the working tree
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    return clone


def _names(broker: str) -> dict[str, str]:
    """Map what the README names to what this run uses instead."""
    return {
        "ordinal_write": f"{PREFIX}_write",
        "ordinal_read": f"{PREFIX}_read",
        README_BROKER: BROKERS[broker],
    }


def _stack(clone: Path, script: str, customer: tuple[str, str], broker: str) -> None:
    """Run the README's block on one broker, check the stack, stop it, drop its databases."""
    names = _names(broker)
    log_path = WORK / f"honcho-{broker}.log"
    marker = f"{MARKER}={uuid.uuid4()}"
    _drop_databases(names)
    if _listening(PORT):
        raise checks.SmokeFailure(f"port {PORT} is already in use: stop what listens there")
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            ["bash", "-e", "-c", script],
            cwd=clone,
            # At INFO an idle stack is silent: beat logs its ticks at DEBUG, and the
            # check that beat sends the sweep reads those lines.
            env={**_fresh_env(marker), "LOG_LEVEL": "DEBUG"},
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    problems = []
    try:
        _check(process, log_path, customer, broker)
    except Exception as exc:  # any failure: report it with the log, after the cleanup
        problems.append(str(exc) if isinstance(exc, checks.SmokeFailure) else repr(exc))
    finally:
        try:
            problems += _stop(process, marker)
        finally:
            _drop_databases(names)
    if problems:
        print(f"----- {log_path} -----\n{log_path.read_text()}-----", file=sys.stderr)
        raise checks.SmokeFailure(f"{broker}: {'; '.join(problems)}")


def _check(process, log_path: Path, customer: tuple[str, str], broker: str) -> None:
    """Check the stack the README's commands started, over HTTP and in its log."""
    client = checks.Client(PORT)
    ready = checks.wait_until_ready(client, lambda: process.poll() is None, STARTUP_SECONDS)
    print(f"smoke: {broker}: /readyz 200 {ready.get('checks')}")
    checks.log_in(client, *customer)
    placed = checks.place_orders(client)
    checks.read_back(client, placed)
    checks.worker_ran_the_tasks(log_path.read_text, placed)
    checks.beat_sent_the_sweep(log_path.read_text)
    checks.wait_until_ready(client, lambda: process.poll() is None, 5)
    if process.poll() is not None or "stopped (rc=" in log_path.read_text():
        raise checks.SmokeFailure("a process of the stack stopped while it was checked")
    print(f"smoke: {broker}: {len(placed)} orders placed, projected by the worker, read back")


def _substitute(block: str, names: dict[str, str]) -> str:
    """Replace each whole name in the block; fail if the block no longer has one."""
    for old, new in names.items():
        block, found = re.subn(rf"(?<!\w){re.escape(old)}(?!\w)", new, block)
        if not found:
            raise checks.SmokeFailure(f"the README's full-stack block no longer names {old!r}")
    return block


def _customer(block: str) -> tuple[str, str]:
    found = re.search(r"manage\.py create_customer (\S+) --password (\S+)", block)
    if found is None:
        raise checks.SmokeFailure("the README's full-stack block creates no customer")
    return found.group(1), found.group(2)


def _fresh_env(marker: str | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if KEPT_ENV.fullmatch(name)}
    if marker is not None:
        name, value = marker.split("=", 1)
        env[name] = value
    return env


def _run(command: list[str], cwd: Path, seconds: float, what: str) -> None:
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=_fresh_env(),
            capture_output=True,
            text=True,
            timeout=seconds,
        )
    except subprocess.TimeoutExpired as exc:
        raise checks.SmokeFailure(f"{what}: no result within {seconds} s") from exc
    if done.returncode != 0:
        raise checks.SmokeFailure(f"{what}: exit {done.returncode}\n{done.stdout}{done.stderr}")


def _drop_databases(names: dict[str, str]) -> None:
    for database in (names["ordinal_write"], names["ordinal_read"]):
        command = f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        _run([*PSQL, "-c", command], ROOT, 30, command)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stop(process: subprocess.Popen, marker: str) -> list[str]:
    """Stop the run's processes as Ctrl-C would; name any that needed SIGKILL or survived."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)  # bash and honcho; honcho stops the rest
    stubborn = {pid: _command_line(pid) for pid in _wait_gone(marker)}
    for pid in stubborn:
        _kill(pid, signal.SIGKILL)
    survivors = _wait_gone(marker)
    process.wait(timeout=STOP_SECONDS)
    problems = [f"{line!r} ignored SIGTERM for {STOP_SECONDS} s" for line in stubborn.values()]
    problems += [f"{_command_line(pid)!r} survived SIGKILL" for pid in survivors]
    if _listening(PORT):
        problems.append(f"something still listens on port {PORT}")
    return problems


def _wait_gone(marker: str) -> list[int]:
    """Wait up to STOP_SECONDS for the marked processes to exit; return those left."""
    deadline = time.monotonic() + STOP_SECONDS
    while (left := _marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return f"pid {pid}"


def _marked(marker: str) -> list[int]:
    """Return the pids whose environment carries this run's marker."""
    needle = marker.encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours
            continue
        if needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(BROKERS)))
