"""Invariant 3 across processes: a tailing reader never sees a position appear behind it."""

import subprocess
import threading

import pytest

from eventlog import store
from tests.conftest import on_postgres
from tests.log_tail import LogTail

from .conftest import BASE_DIR, BOTH_DATABASES, PYTHON, WAIT, child_env

WRITERS, BATCHES = 4, 80

pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)


def test_appends_from_several_processes_never_commit_behind_a_reader():
    writers = [
        subprocess.Popen(
            [PYTHON, "-m", "tests.reliability.append_batches", str(seed), str(BATCHES)],
            cwd=BASE_DIR,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(WRITERS)
    ]
    try:
        for writer in writers:
            assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        tail = LogTail(page=20)
        reader = threading.Thread(target=_with_own_connection(tail.run), daemon=True)
        reader.start()
        for writer in writers:  # go, all together
            writer.stdin.write("go\n")
            writer.stdin.flush()
        outputs = [writer.communicate(timeout=WAIT * 2) for writer in writers]
        tail.done.set()
        reader.join(WAIT)
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()

    assert all(w.returncode == 0 for w in writers), [err for _, err in outputs]
    committed_counts = [int(out.split()[-1]) for out, _ in outputs]
    committed = [row[0] for row in store.read_all(limit=100_000)]
    assert not reader.is_alive()
    assert len(committed) == sum(committed_counts)
    assert tail.went_backwards == []
    assert tail.seen == committed, "the tailing reader skipped committed positions"
    if on_postgres():  # SQLite rolls its AUTOINCREMENT counter back: no holes there
        assert committed[-1] > len(committed), "rolled-back batches left no hole to pass"
    print(f"\n{WRITERS} processes, {len(committed)} events committed, reader read {len(tail.seen)}")


def _with_own_connection(target):
    from django.db import connections

    def run() -> None:
        try:
            target()
        finally:
            connections.close_all()

    return run
