"""The master key: required with DEBUG off, and a wrong one stops web and worker at start."""

import subprocess
from pathlib import Path

import pytest
from django.core import checks

from config.master_key import (
    DEV_MASTER_KEY,
    MISSING_MASTER_KEY,
    WRONG_MASTER_KEY,
    check_data_keys,
    check_master_key,
)
from eventlog.crypto import new_key_text
from eventlog.personal import DataKeys
from tests.processes import BASE_DIR, PYTHON, production_env, worker_command

WRONG = "were wrapped by master key"


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture
def keyed_database(tmp_path: Path) -> tuple[Path, str]:
    """Embedded databases holding one data key, wrapped by the master key returned."""
    key = new_key_text()
    env = production_env(tmp_path, ORDINAL_MASTER_KEY=key)
    ok(run([PYTHON, "manage.py", "migrate", "--no-input"], env))
    ok(run([PYTHON, "manage.py", "migrate", "--database", "read", "--no-input"], env))
    make = "from eventlog.personal import DataKeys; DataKeys().key_for('alice')"
    ok(run([PYTHON, "manage.py", "shell", "-c", make], env))
    return tmp_path, key


def test_without_a_master_key_check_deploy_and_the_web_fail(tmp_path):
    env = production_env(tmp_path)
    del env["ORDINAL_MASTER_KEY"]
    for command in (
        [PYTHON, "manage.py", "check", "--deploy"],
        [PYTHON, "-c", "import config.wsgi"],
    ):
        done = run(command, env)
        assert done.returncode != 0
        assert "ORDINAL_MASTER_KEY is not set" in done.stdout + done.stderr


@pytest.mark.parametrize("value", ["not base64!", "c2hvcnQ="])
def test_a_malformed_master_key_is_refused(tmp_path, value):
    done = run(
        [PYTHON, "-c", "import config.wsgi"], production_env(tmp_path, ORDINAL_MASTER_KEY=value)
    )
    assert done.returncode != 0 and "ORDINAL_MASTER_KEY is refused" in done.stderr


def test_a_wrong_master_key_stops_the_web_at_start_and_the_right_one_starts_it(keyed_database):
    var_dir, key = keyed_database
    wrong = run([PYTHON, "-c", "import config.wsgi"], production_env(var_dir))  # another key
    assert wrong.returncode != 0 and WRONG in wrong.stderr, wrong.stderr
    ok(run([PYTHON, "-c", "import config.wsgi"], production_env(var_dir, ORDINAL_MASTER_KEY=key)))


def test_a_wrong_master_key_stops_the_worker_at_start(keyed_database):
    var_dir, _ = keyed_database
    done = run(worker_command(1), production_env(var_dir))
    assert done.returncode != 0 and WRONG in done.stdout + done.stderr


def test_the_database_check_names_a_wrong_master_key(keyed_database):
    var_dir, key = keyed_database
    command = [PYTHON, "manage.py", "check", "--database", "default"]
    done = run(command, production_env(var_dir))
    assert done.returncode != 0 and f"({WRONG_MASTER_KEY})" in done.stderr
    ok(run(command, production_env(var_dir, ORDINAL_MASTER_KEY=key)))


@pytest.mark.django_db(databases=["default"])
def test_the_checks_in_process(settings):
    DataKeys().key_for("alice")
    assert check_data_keys(databases=["default"]) == []
    settings.ORDINAL_MASTER_KEY = new_key_text()
    [error] = check_data_keys(databases=["default"])
    assert error.id == WRONG_MASTER_KEY and error.level == checks.ERROR
    settings.ORDINAL_MASTER_KEY = ""
    assert [e.id for e in check_master_key()] == [MISSING_MASTER_KEY]
    settings.ORDINAL_MASTER_KEY, settings.ORDINAL_MASTER_KEY_IS_DEV = new_key_text(), True
    assert [e.id for e in check_master_key()] == [DEV_MASTER_KEY]
