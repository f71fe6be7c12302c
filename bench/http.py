"""Commands and queries over HTTP with wrk, Ordinal against a plain DRF app, same gunicorn."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .stats import summarise

HERE = Path(__file__).resolve().parent
WORKERS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_token() -> str:
    """Create a staff user with a token (the same identity for both apps)."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True})
    return Token.objects.get_or_create(user=user)[0].key


class Gunicorn:
    """Serve bench.settings with gunicorn on 127.0.0.1; always stopped on exit."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        env = {**os.environ, "CONN_MAX_AGE": "600", "DJANGO_SETTINGS_MODULE": "bench.settings"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--no-control-socket",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(WORKERS),
                "--log-level",
                "warning",
            ],
            cwd=HERE.parent,
            env=env,
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def wrk(url: str, script: str, token: str, seconds: int, connections: int = 8) -> dict:
    """Run wrk once; return requests/s, p50 and p99 latency (ms) and status counts."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(HERE / "lua" / script),
            url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "BENCH_TOKEN": token},
        check=True,
    ).stdout
    p50, p99 = map(int, re.search(r"LATENCY p50=(\d+) p99=(\d+)", out).groups())
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "errors": int(m.group(1))
        if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out))
        else 0,
    }


def measure_commands(server: Gunicorn, token: str, runs: int, seconds: int) -> dict:
    """POST /api/orders/ (Ordinal) against POST /baseline/orders/, alternating runs."""
    ordinal, baseline = [], []
    for _ in range(runs):
        ordinal.append(wrk(f"{server.url}/api/orders/", "post.lua", token, seconds))
        baseline.append(wrk(f"{server.url}/baseline/orders/", "post.lua", token, seconds))
    ours, theirs = summarise([r["rps"] for r in ordinal]), summarise([r["rps"] for r in baseline])
    return {
        "command_http_create_order": {
            "ordinal_requests_per_s": ours,
            "baseline_drf_modelviewset_per_s": theirs,
            "ordinal_p50_ms": summarise([r["p50_ms"] for r in ordinal]),
            "baseline_p50_ms": summarise([r["p50_ms"] for r in baseline]),
            "non_2xx": sum(r["errors"] for r in ordinal + baseline),
            "ratio": ours["median"] / theirs["median"],
            "target": ">= 1.0",
            "setup": f"gunicorn {WORKERS} sync workers, wrk -t2 -c8 -d{seconds}s",
        }
    }


def measure_queries(server: Gunicorn, token: str, runs: int, seconds: int) -> dict:
    """GET one order and one list page: read model against the baseline's joined tables."""
    from bench.baseline.models import Order
    from orders_read import runner

    for name in runner.projection_names():  # project what the command benchmark appended
        runner.projection_catch_up(name)
    baseline_id = Order.objects.order_by("placed_at").values_list("id", flat=True).first()
    ordinal_id = _ordinal_order_id()
    paths = {
        "query_get_one_order": (f"/api/orders/{ordinal_id}/", f"/baseline/orders/{baseline_id}/"),
        "query_list_page": ("/api/orders/?page_size=20", "/baseline/orders/?page_size=20"),
    }
    results = {}
    for key, (ours_path, theirs_path) in paths.items():
        ours, theirs = [], []
        for _ in range(runs):
            ours.append(wrk(server.url + ours_path, "get.lua", token, seconds))
            theirs.append(wrk(server.url + theirs_path, "get.lua", token, seconds))
        p50, base_p50 = (
            summarise([r["p50_ms"] for r in ours]),
            summarise([r["p50_ms"] for r in theirs]),
        )
        results[key] = {
            "ordinal_p50_ms": p50,
            "baseline_p50_ms": base_p50,
            "ordinal_requests_per_s": summarise([r["rps"] for r in ours]),
            "baseline_requests_per_s": summarise([r["rps"] for r in theirs]),
            "non_2xx": sum(r["errors"] for r in ours + theirs),
            "ratio": p50["median"] / base_p50["median"],
            "target": "<= 0.8 (p50 latency)",
        }
    return results


def _ordinal_order_id() -> str:
    from orders_read.models import OrderView

    return str(
        OrderView.objects.using("read").order_by("placed_at").values_list("pk", flat=True).first()
    )
