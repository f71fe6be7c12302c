"""Chaos soak: thousands of HTTP commands while the worker, the broker and the write DB die.

    python -m bench.soak --commands 3000 --seed 1

The whole stack runs on private servers it starts itself (tests/reliability/fullstack.py,
the same code as the database-restart test): PostgreSQL for the write DB, another for the
read DB, Redis, gunicorn, a Celery worker and beat. Client threads send commands, each
with its own Idempotency-Key, retried with it after a 503 or a lost answer. Meanwhile,
at random intervals, one fault at a time:

- worker: SIGKILL the Celery worker and start a new one;
- broker: SIGKILL Redis (its queued tasks are lost), keep it down a moment, start it;
- write-db: stop the write PostgreSQL with "immediate" (a crash), keep it down, start it.

Afterwards it checks, and exits non-zero unless all hold: every acknowledged (2xx)
command's events are in the log at the version and position answered, nothing refused or
unsent was written, no 5xx but 503 problem documents, every command got a definitive
answer; the projections reach the head by themselves; and the read model equals a
from-scratch rebuild (`manage.py rebuild_projections` run after a snapshot, compared).

It needs PostgreSQL's server binaries (initdb, pg_ctl) and redis-server on the machine,
and the project's requirements (including the dev ones: the server helpers live with the
tests). It never touches the machine's shared PostgreSQL or Redis.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

FAULTS = ("worker", "broker", "write-db")


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--commands", type=int, default=3000, help="commands to send in all")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--seed", type=int, default=1, help="seeds the load and the faults")
    parser.add_argument(
        "--interval",
        type=float,
        nargs=2,
        default=(3.0, 8.0),
        metavar=("MIN", "MAX"),
        help="seconds between faults, drawn uniformly (default 3 8)",
    )
    parser.add_argument(
        "--down",
        type=float,
        nargs=2,
        default=(0.5, 3.0),
        metavar=("MIN", "MAX"),
        help="seconds a killed broker or database stays down (default 0.5 3)",
    )
    parser.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"which faults to inject, comma-separated (default {','.join(FAULTS)})",
    )
    parser.add_argument("--give-up", type=float, default=120, help="seconds a client retries")
    parser.add_argument("--converge", type=float, default=180, help="bound on convergence (s)")
    parser.add_argument("--workdir", help="where logs go (default: a fresh temporary folder)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    faults_chosen = [f for f in args.faults.split(",") if f]
    unknown = set(faults_chosen) - set(FAULTS)
    if unknown:
        print(f"unknown fault(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    # The helpers read Django settings (the children's base directory and environment).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import pytest  # deliberately: the private-server helpers skip with a reason via pytest

    from tests.reliability.fullstack import (
        CommandLoad,
        Stack,
        check_log,
        rebuild_differences,
        wait_converged,
    )

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ordinal-soak-"))
    rng = random.Random(args.seed)
    injected: Counter[str] = Counter()
    down_total: Counter[str] = Counter()
    died: Counter[str] = Counter()  # processes that exited on their own (then restarted)
    print(f"soak: {args.commands} commands, {args.clients} clients, seed {args.seed}")
    print(f"logs in {workdir}")
    try:
        stack = Stack(workdir, clients=args.clients)
    except pytest.skip.Exception as missing:
        print(f"cannot run: {missing.msg}", file=sys.stderr)
        return 2
    with stack:
        load = CommandLoad(
            stack.port,
            stack.tokens,
            seed=args.seed,
            commands=args.commands,
            give_up_seconds=args.give_up,
        )
        began = time.monotonic()
        load.start()
        while _sleep_while_running(load, rng.uniform(*args.interval)):
            _revive(stack, died, time.monotonic() - began)
            fault = rng.choice(faults_chosen)
            down = rng.uniform(*args.down)
            at = time.monotonic() - began
            if fault == "worker":
                stack.kill_worker()
                down = 0.0
            elif fault == "broker":
                stack.kill_broker(down)
            else:
                down = stack.outage("write", "immediate", down)
            injected[fault] += 1
            down_total[fault] += down
            done = len(load.sent)
            print(f"  {at:6.1f} s  {fault:<8} down {down:4.1f} s  ({done} commands answered)")
        load.join()
        load_seconds = time.monotonic() - began
        _revive(stack, died, load_seconds)
        converge_seconds = wait_converged(stack, args.converge)
        checked = check_log(load.sent, stack.write_url)
        differences = rebuild_differences(stack)
        figures = load.figures()
    elapsed = time.monotonic() - began

    print("\nsummary")
    for name, value in figures.items():
        print(f"  {name:<36} {value}")
    for name, value in checked.items():
        if name != "problems":
            print(f"  {name:<36} {value}")
    for fault in FAULTS:
        print(f"  fault {fault:<30} {injected[fault]} (down {down_total[fault]:.1f} s in all)")
    for name in ("worker", "beat", "web"):
        print(f"  {'died on its own: ' + name:<36} {died[name]}")
    print(f"  {'load phase':<36} {load_seconds:.1f} s")
    print(f"  {'converged after the load':<36} {converge_seconds:.1f} s")
    print(f"  {'read model == rebuild':<36} {'yes' if not differences else 'NO'}")
    print(f"  {'elapsed':<36} {elapsed:.1f} s")
    failures = [*load.errors, *checked["problems"], *differences]
    if figures["gave up"]:
        failures.append(f"{figures['gave up']} command(s) never got a definitive answer")
    failures += [f"the {name} process died on its own {n} time(s)" for name, n in died.items()]
    for failure in failures[:20]:
        print(f"FAIL: {failure}")
    print("result:", "FAILED" if failures else "OK (0 lost acknowledged commands)")
    return 1 if failures else 0


def _revive(stack, died: Counter, at: float) -> None:
    """Count and restart a process that exited on its own since the last look."""
    for name in stack.revive():
        died[name] += 1
        print(f"  {at:6.1f} s  {name} had died on its own: restarted (see its log)")


def _sleep_while_running(load, seconds: float) -> bool:
    """Sleep up to `seconds`; return False as soon as the load has finished."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not load.running:
            return False
        time.sleep(0.1)
    return load.running


if __name__ == "__main__":
    sys.exit(main())
