"""Run the benchmarks and write bench/results.json and docs/BENCHMARKS.md.

Usage: python -m bench.run [--runs 5] [--count 2000]
"""

import argparse
import json
import platform
import subprocess
from pathlib import Path

from . import setup

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict:
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    pg = subprocess.run(
        ["psql", f"{setup.PG}/postgres", "-tAc", "SHOW server_version"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "cpus": cpu,
        "postgres": pg,
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=2000, help="appends per writer per run")
    args = parser.parse_args()

    setup.configure()
    from . import aggregate, append

    results = {"machine": machine(), "runs": args.runs}
    results.update(append.measure(args.runs, args.count))
    results.update(aggregate.measure())
    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
