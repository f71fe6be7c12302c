"""Private PostgreSQL and Redis servers on free ports, for tests that stop or kill them.

The machine's shared services are never stopped: a test that restarts a database or
takes the broker away starts its own instance here and tears it down afterwards.
A missing server binary skips the test, naming what to install.
"""

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.processes import free_port, stop

START_SECONDS = 30


def _postgres_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = [Path(c) for c in candidates if (Path(c) / "initdb").exists()]
    if found:
        return found[0]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PrivatePostgres:
    """A throwaway PostgreSQL cluster of our own, on a free port, that a test may restart.

    `replica_of` a running one: a hot standby streaming from it instead of a new cluster
    (`pg_basebackup -R`, through a replication slot so the primary keeps the WAL it
    misses while stopped), which answers reads and whose replay a test may pause.
    """

    def __init__(self, *, replica_of: "PrivatePostgres | None" = None) -> None:
        bindir = _postgres_bindir()
        if bindir is None:
            pytest.skip(
                "needs PostgreSQL's server binaries (initdb, pg_ctl): apt install postgresql"
            )
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ordinal-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        if replica_of is None:
            self._tool(
                "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"
            )
            return
        source = ["-h", "127.0.0.1", "-p", str(replica_of.port), "-U", "postgres"]
        standby = ["-R", "-X", "stream", "-C", "-S", f"replica_{self.port}", "-c", "fast"]
        self._tool("pg_basebackup", "-D", str(self.data), *standby, *source)

    def _tool(self, name: str, *args: str) -> None:
        subprocess.run(
            [*_as_postgres_user(), str(self.bindir / name), *args],
            check=True,
            capture_output=True,
            cwd=self.root,
        )

    def start(self) -> None:
        # fsync off: the tests crash the server process, not the machine.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._tool(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; mode "immediate" is a crash (no checkpoint, recovery on start)."""
        self._tool("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> list[tuple]:
        """Run one statement as the superuser; return its rows (a replica takes reads and
        its replay controls: pg_wal_replay_pause(), pg_wal_replay_resume())."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A Redis of our own on a free port, keeping nothing on disk; stop and start it at will."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("needs redis-server: apt install redis-server")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ordinal-redis-"))
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.root)]
        with (self.root / "server.log").open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_SECONDS
        while not self.is_up():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def is_up(self) -> bool:
        try:
            import redis

            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except Exception:
            return False

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Take the broker away; SIGKILL loses whatever it held in memory, as a crash would."""
        if self.process is not None:
            stop(self.process, sig)
            self.process = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    server.start()
    yield server
    server.destroy()
