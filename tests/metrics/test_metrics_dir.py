"""Each process tree's metrics directory: made at start, inherited, swept once its tree died."""

import os
import subprocess
import sys

from django.conf import settings

from config.metrics_dir import ENV, metrics_dir_use, metrics_files

from ..processes import BASE_DIR, child_env


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_tree_root_makes_its_directory_and_sweeps_those_of_dead_trees(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    dead, alive = tmp_path / str(dead_pid()), tmp_path / str(os.getppid())
    for directory in (dead, alive):
        directory.mkdir()
        (directory / "counter_1.db").write_bytes(b"")
    (tmp_path / "notes").mkdir()  # not a tree's: left alone

    own = metrics_dir_use(tmp_path)

    assert own == tmp_path / str(os.getpid()) and own.is_dir()
    assert os.environ[ENV] == str(own)
    assert not dead.exists()
    assert alive.exists() and (tmp_path / "notes").exists()
    assert list(metrics_files(tmp_path)) == [alive.name]


def test_a_child_keeps_its_parent_s_directory_unless_it_is_elsewhere(tmp_path, monkeypatch):
    parents = tmp_path / "12345"
    parents.mkdir()
    monkeypatch.setenv(ENV, str(parents))
    assert metrics_dir_use(tmp_path) == parents  # a gunicorn worker, a pool process
    monkeypatch.setenv(ENV, str(tmp_path / "elsewhere" / "1"))
    assert metrics_dir_use(tmp_path) == tmp_path / str(os.getpid())


def test_every_process_that_loads_the_settings_counts_in_multiprocess_mode(tmp_path):
    code = (
        "import django; django.setup(); from prometheus_client import values; "
        "import config.metrics, os; print(values.ValueClass.__name__, os.environ['" + ENV + "'])"
    )
    env = {**child_env(), "ORDINAL_METRICS_DIR": str(tmp_path), ENV: ""}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    value_class, directory = run.stdout.split()
    assert value_class == "MmapedValue"
    assert directory == str(tmp_path / directory.rsplit("/", 1)[1])
    assert settings.ORDINAL_METRICS_DIR  # and this test process too:
    from prometheus_client import values

    assert values.ValueClass.__name__ == "MmapedValue"


def test_a_wrong_metrics_allow_stops_the_process_at_start():
    env = {**child_env(), "METRICS_ALLOW": "127.0.0.1,localhost"}
    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "ImproperlyConfigured: METRICS_ALLOW" in run.stderr
