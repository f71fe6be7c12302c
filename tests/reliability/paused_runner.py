"""Child process for the paused-runner test: take a batch, then stop (SIGSTOP) holding it.

Usage: python -m tests.reliability.paused_runner PROJECTION

It prints "backend <pid>" (its read-DB session), then runs the projection's catch-up.
Right after taking its first batch (checkpoint row locked, events read, read transaction
open) it prints "taken <events>" and sends itself SIGSTOP. Once continued it prints
"applied <n>" if its catch-up committed, or "refused <error type>" if it raised; then
"retry applied <n>" for a second catch-up, as the task's retry would run.
"""

import os
import signal
import sys

import django


def main(name: str) -> None:
    django.setup()
    from django.db import close_old_connections, connections

    from orders_read import runner

    projector = runner.PROJECTORS[name]
    original = projector.apply
    paused = False

    def apply(self, rows, *args, **kwargs):
        nonlocal paused
        if not paused:
            paused = True
            print(f"taken {len(rows)}", flush=True)
            os.kill(os.getpid(), signal.SIGSTOP)  # resumes here on SIGCONT
        return original(self, rows, *args, **kwargs)

    projector.apply = apply
    with connections["read"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        print(f"backend {cursor.fetchone()[0]}", flush=True)
    try:
        print(f"applied {runner.projection_catch_up(name)}", flush=True)
    except Exception as exc:
        print(f"refused {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
    close_old_connections()  # what the worker does between tasks
    print(f"retry applied {runner.projection_catch_up(name)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
