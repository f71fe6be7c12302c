"""gunicorn's server hooks (`gunicorn --config python:config.gunicorn_hooks`): metrics.

prometheus_client is imported inside the hook, never at this module's import: the
master must not import it before the settings have chosen PROMETHEUS_MULTIPROC_DIR
(config.metrics_dir), or its workers would inherit single-process metrics.
"""


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges (its counters and histograms keep counting)."""
    import os

    from prometheus_client import multiprocess

    from .metrics_dir import ENV

    if os.environ.get(ENV):  # set when the master loaded the settings (the Procfile's way)
        multiprocess.mark_process_dead(worker.pid)
