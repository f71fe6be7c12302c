"""Child process for the position tests: append batches of events, some rolled back.

Usage: python -m tests.reliability.append_batches SEED BATCHES. It prints "ready",
waits for a line on stdin (so every writer starts together), appends, and prints
"committed <count>" with the number of events it committed.
"""

import random
import sys
import time
import uuid

import django


def main(seed: int, batches: int) -> None:
    django.setup()
    from django.db import transaction

    from eventlog import store

    rng = random.Random(seed)
    print("ready", flush=True)
    sys.stdin.readline()
    committed = 0
    for n in range(batches):
        size = rng.randint(1, 5)
        events = [store.NewEvent(f"P{seed}", {"batch": n, "i": i}) for i in range(size)]
        try:
            with transaction.atomic(using="default"):
                store.append(
                    stream_type="order", stream_id=uuid.uuid4(), expected_version=0, events=events
                )
                time.sleep(rng.uniform(0, 0.002))  # hold the transaction open a little
                if n % 5 == 2:
                    raise RuntimeError("roll back: a hole in the sequence")
            committed += size
        except RuntimeError:
            pass
    print(f"committed {committed}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
