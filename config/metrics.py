"""The process's Prometheus metrics: commands, queries and Celery tasks (README "Metrics").

Each is one counter or histogram update in this process's sample files (multiprocess
mode, config.metrics_dir): no database query, no network. `/metrics` (config.metrics_view)
adds every process's files up and reads the projections' gauges from the databases.
The metrics are not registered in prometheus_client's global registry: in multiprocess
mode only the files are read.
"""

import time

from prometheus_client import Counter, Histogram

from orders_write.bus import CommandBus, Within
from orders_write.commands import Command, CommandResult, Context

from .problems import problem_of

# From a quick in-process command (~1 ms) to a slow one waiting on locks or a catch-up.
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

COMMANDS = Counter(
    "ordinal_commands",
    "Commands run, by command type and outcome (succeeded, refused with a problem type "
    "below 500, or error: 500 and up).",
    ["command", "outcome", "problem"],
    registry=None,
)
COMMAND_SECONDS = Histogram(
    "ordinal_command_duration_seconds",
    "Time a command took in the command bus (retries included), by command type.",
    ["command"],
    buckets=SECONDS_BUCKETS,
    registry=None,
)
QUERIES = Counter(
    "ordinal_queries",
    "GET (and HEAD) requests under /api/, by endpoint (URL name) and response status.",
    ["endpoint", "status"],
    registry=None,
)
QUERY_SECONDS = Histogram(
    "ordinal_query_duration_seconds",
    "Time a GET request under /api/ took in Django, by endpoint (URL name).",
    ["endpoint"],
    buckets=SECONDS_BUCKETS,
    registry=None,
)
CELERY_TASKS = Counter(
    "ordinal_celery_tasks",
    "Celery tasks run, by task name and outcome (succeeded, failed, retried).",
    ["task", "outcome"],
    registry=None,
)


def command_observed(command: str, error: Exception | None, seconds: float) -> None:
    """Count one command's outcome and time it."""
    if error is None:
        outcome, problem = "succeeded", ""
    else:
        status, problem = problem_of(error)
        outcome = "refused" if status < 500 else "error"
    COMMANDS.labels(command, outcome, problem).inc()
    COMMAND_SECONDS.labels(command).observe(seconds)


def query_observed(endpoint: str, status: int, seconds: float) -> None:
    """Count one API GET request by endpoint and status, and time it."""
    QUERIES.labels(endpoint, str(status)).inc()
    QUERY_SECONDS.labels(endpoint).observe(seconds)


def task_observed(task: str, outcome: str) -> None:
    """Count one Celery task's outcome."""
    CELERY_TASKS.labels(task, outcome).inc()


class MeasuredCommandBus(CommandBus):
    """The command bus, counting and timing every command it runs, whoever sends it."""

    def dispatch(
        self, command: Command, context: Context, *, within: Within | None = None
    ) -> CommandResult:
        started = time.perf_counter()
        try:
            result = super().dispatch(command, context, within=within)
        except Exception as error:
            command_observed(type(command).__name__, error, time.perf_counter() - started)
            raise
        command_observed(type(command).__name__, None, time.perf_counter() - started)
        return result
