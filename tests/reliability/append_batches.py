"""Child process for the feed tests: append batches of events, some rolled back.

Usage: python -m tests.reliability.append_batches SEED BATCHES. It prints "ready",
waits for a line on stdin (so every writer starts together), appends, and prints
"committed <count>" with the number of events it committed. Every other batch goes to
one of a few streams all writers share (at the version it read: a lost race is retried
by the next batch), the rest to new streams; transactions stay open a random while, and
some roll back.
"""

import random
import sys
import time
import uuid

import django

# The streams every writer appends to as well, so their versions race.
SHARED = [uuid.uuid5(uuid.NAMESPACE_URL, f"ordinal-test-shared-{n}") for n in range(4)]


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
        stream = rng.choice(SHARED) if n % 2 else uuid.uuid4()
        try:
            with transaction.atomic(using="default"):
                time.sleep(rng.uniform(0, 0.003))  # work before the append, as a handler does
                version = len(store.read_stream(stream))
                store.append(
                    stream_type="order", stream_id=stream, expected_version=version, events=events
                )
                time.sleep(rng.uniform(0, 0.005))  # hold the transaction open a while
                if n % 5 == 2:
                    raise RuntimeError("roll back: a hole in the sequence")
            committed += size
        except (RuntimeError, store.ConcurrencyError):
            pass
    print(f"committed {committed}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
