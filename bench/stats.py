"""Repeat a measurement and summarise it as median and min-max."""

import statistics
import time
from collections.abc import Callable


def repeat(measure: Callable[[], float], runs: int) -> dict[str, float]:
    """Run `measure` (returning a rate or a duration) `runs` times and summarise."""
    return summarise([measure() for _ in range(runs)])


def summarise(values: list[float]) -> dict[str, float]:
    """Return the median and min-max of some measurements."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
    }


def rate(count: int, action: Callable[[], None]) -> float:
    """Return how many of `count` operations per second `action` performed."""
    start = time.perf_counter()
    action()
    return count / (time.perf_counter() - start)


def spread(summary: dict[str, float], digits: int = 0) -> str:
    """Format a summary as the report shows it: "median (min-max)"."""
    f = f"{{:,.{digits}f}}"
    return f"{f.format(summary['median'])} ({f.format(summary['min'])}-{f.format(summary['max'])})"
