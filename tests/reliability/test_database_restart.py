"""The write database crashes, then the read database restarts, under a steady command load.

The whole stack runs on private servers (`fullstack.Stack`): PostgreSQL for the write DB,
another for the read DB, Redis, gunicorn, a Celery worker and beat. It does not use the
suite's own databases, so it runs the same on either setting of the suite.
"""

import time

from .fullstack import (
    CommandLoad,
    Stack,
    check_log,
    head_position,
    reached,
    rebuild_differences,
    wait_converged,
)

# Bounds for a loaded 2-core machine, never speed assertions.
WAIT = 60
DOWN_SECONDS = 2.0  # each database stays down this long: long enough for clients to notice


def wait_for(condition, what: str, seconds: float = WAIT) -> float:
    """Poll `condition`; return the seconds it took, or fail naming `what`."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < seconds, f"{what} did not happen within {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - began


def test_commands_survive_a_write_db_crash_and_a_read_db_restart(tmp_path):
    """Fault: under load from 4 HTTP clients, the write PostgreSQL crashes ("immediate" stop,
    2 s down), then later the read PostgreSQL stops "fast" (2 s down). Connections are
    persistent (CONN_MAX_AGE=60), so every process holds stale ones after each restart.

    Must hold:
    - every 2xx command's events are in the log, on its order, at the version and position
      it answered (no 2xx without a commit, nothing applied twice by a retry);
    - a refused command (409) wrote nothing; no event without an acknowledged command,
      except from a command whose answer never arrived (in doubt);
    - no 5xx but 503 problem documents, and clients did see the outage;
    - commands succeed again after each restart, projections resume by themselves (no
      manual step), and the read model equals a from-scratch rebuild.
    """
    with Stack(tmp_path, clients=4) as stack:
        load = CommandLoad(stack.port, stack.tokens, seed=10, give_up_seconds=WAIT)
        load.start()
        try:
            began = time.monotonic()
            wait_for(lambda: load.acknowledged_since(began) >= 20, "20 commands before the fault")

            crash_began = time.monotonic()
            stack.outage("write", "immediate", DOWN_SECONDS)
            back = time.monotonic()
            wait_for(lambda: load.acknowledged_since(back) >= 1, "a 2xx after the write restart")
            commands_resumed = time.monotonic() - crash_began
            wait_for(lambda: load.acknowledged_since(back) >= 20, "20 commands after the crash")

            restart_began = time.monotonic()
            stack.outage("read", "fast", DOWN_SECONDS)
            # Commands went on while the read DB was down: the worker must apply them by
            # itself (stale connections, failed tasks and all).
            head = head_position(stack.write_url)
            wait_for(lambda: reached(stack, head), "projections resuming after the read restart")
            projections_resumed = time.monotonic() - restart_began
            after = time.monotonic()
            wait_for(lambda: load.acknowledged_since(after) >= 20, "20 commands after the restart")
        finally:
            load.stop()

        converge_seconds = wait_converged(stack, WAIT)
        checked = check_log(load.sent, stack.write_url)
        figures = load.figures()
        differences = rebuild_differences(stack)
        died = stack.revive()  # web, worker and beat must all have survived the restarts

    print(
        f"\nfigures: {figures}\nlog: { {k: v for k, v in checked.items() if k != 'problems'} }"
        f"\nrestarts: 2 (write immediate, read fast; {DOWN_SECONDS} s down each); "
        f"commands 2xx again {commands_resumed:.1f} s after the write crash began; "
        f"projections applied what was committed while the read DB was down "
        f"{projections_resumed:.1f} s after its restart began; "
        f"converged {converge_seconds:.1f} s after the load stopped"
    )
    assert died == [], "a process exited on its own"
    assert load.errors == []
    assert checked["problems"] == []
    assert figures["gave up"] == 0, "a command never got a definitive answer"
    assert figures["503 answers"] + figures["no answer"] > 0, "no client saw the outage"
    assert differences == [], "the read model differs from a rebuild"
