"""Run a function in threads that start together, each with its own database connection."""

import threading

from django.db import connections


def run_in_threads(count: int, target, *, timeout: float = 60) -> list:
    """Run target(n) in `count` threads released by one barrier; return results by n.

    An exception is returned in place of the result, so the test can assert on it.
    `timeout` only bounds a hang; the test fails if a thread is still running.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[n] = target(n)
        except Exception as exc:
            results[n] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    return results
