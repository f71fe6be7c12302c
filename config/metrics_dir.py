"""Where each process keeps its Prometheus samples (prometheus_client's multiprocess mode).

Every process that loads the settings writes its samples to files (one set per process
id) in one directory per process tree under ORDINAL_METRICS_DIR: the tree's root (the
gunicorn master, the Celery worker's main process, a management command) makes
`<ORDINAL_METRICS_DIR>/<its pid>` and its children (gunicorn workers, Celery pool
processes) inherit it through PROMETHEUS_MULTIPROC_DIR. A process tree that starts
removes the directories of trees no longer running, and a dead gunicorn or pool worker's
counts stay in its tree's directory as long as the tree runs. `/metrics` adds up each
directory's files and labels the sums with the tree (`process_tree`): a restarted
service's series start again from zero while the others' go on, a reset Prometheus
handles per series. No Django here: gunicorn's hooks use it before settings load.
"""

import os
import shutil
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_dir_use(root: Path) -> Path:
    """Point prometheus_client at this process tree's directory under `root`; return it.

    Call before prometheus_client is imported: it picks multiprocess mode at import.
    """
    inherited = os.environ.get(ENV)
    if inherited and Path(inherited).parent == root and Path(inherited).is_dir():
        return Path(inherited)  # a child of a tree that already has its directory
    root.mkdir(parents=True, exist_ok=True)
    stale_dirs_remove(root)
    own = root / str(os.getpid())
    own.mkdir(exist_ok=True)
    os.environ[ENV] = str(own)
    return own


def stale_dirs_remove(root: Path) -> None:
    """Remove the directories of process trees whose root process is gone."""
    for path in root.iterdir():
        if path.is_dir() and path.name.isdigit() and not _running(int(path.name)):
            shutil.rmtree(path, ignore_errors=True)


def metrics_files(root: Path) -> dict[str, list[str]]:
    """Return {process tree (its root's pid): its processes' sample files} under `root`."""
    trees: dict[str, list[str]] = {}
    for path in sorted(root.glob("*/*.db")):
        trees.setdefault(path.parent.name, []).append(str(path))
    return trees


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True
