"""The Procfile and the systemd units under deploy/ run the same three processes."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "ordinal.env.example"
APP_DIR = "/srv/ordinal"
ENVIRONMENT_FILE = "/etc/ordinal/ordinal.env"


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def unit(name: str) -> dict[str, list[str]]:
    """Return a unit's [Service] settings; a key may repeat, as systemd allows."""
    service: dict[str, list[str]] = {}
    section = None
    for line in (DEPLOY / f"ordinal-{name}.service").read_text().splitlines():
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            service.setdefault(key, []).append(value)
    return service


def expanded(command: str, **env: str) -> str:
    """Expand a Procfile command as honcho's shell would, in the given environment."""
    done = subprocess.run(
        ["sh", "-c", f"printf '%s ' {command}"], env=env, capture_output=True, text=True
    )
    return done.stdout


def test_web_serves_on_8000_whatever_port_honcho_sets():
    web = procfile()["web"]
    assert "--bind 127.0.0.1:8000 " in expanded(web, PORT="5000")
    assert "--bind 0.0.0.0:8123 " in expanded(web, PORT="5000", HOST="0.0.0.0", WEB_PORT="8123")


def test_every_process_has_a_unit_and_every_unit_a_process():
    units = {path.name for path in DEPLOY.glob("*.service")}
    assert units == {f"ordinal-{name}.service" for name in procfile()}


@pytest.mark.parametrize("name", sorted(procfile()))
def test_a_unit_runs_the_procfile_command_from_the_app_venv(name):
    # ${VAR:-default} is the shell's; systemd expands ${VAR}, its default set in the unit.
    command = re.sub(r"\$\{(\w+):-[^}]*\}", r"${\1}", procfile()[name])
    assert unit(name)["ExecStart"] == [f"{APP_DIR}/.venv/bin/{command}"]


@pytest.mark.parametrize("name", sorted(procfile()))
def test_every_variable_of_a_unit_command_has_a_value(name):
    service = unit(name)
    given = {
        assignment.split("=", 1)[0]
        for line in service.get("Environment", [])
        for assignment in line.split()
    }
    given |= set(re.findall(r"^(\w+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    used = set(re.findall(r"\$\{(\w+)\}", service["ExecStart"][0]))
    assert used <= given


@pytest.mark.parametrize("name", sorted(procfile()))
def test_a_unit_restarts_always_as_a_dedicated_user_with_the_settings_file(name):
    service = unit(name)
    assert service["Restart"] == ["always"]
    assert service["User"] == service["Group"] == ["ordinal"]
    assert service["WorkingDirectory"] == [APP_DIR]
    assert service["EnvironmentFile"] == [ENVIRONMENT_FILE]
    assert service["StateDirectory"] == ["ordinal"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_units_pass_systemd_analyze_verify(tmp_path):
    # A scratch root with the system's units, stand-ins for the venv's scripts and the
    # settings file, so verify can check every path the units name.
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    for path in DEPLOY.glob("*.service"):
        shutil.copy(path, units)
    for script in ("gunicorn", "celery"):
        stand_in = tmp_path / APP_DIR.lstrip("/") / ".venv/bin" / script
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text("#!/bin/sh\n")
        stand_in.chmod(0o755)
    settings_file = tmp_path / ENVIRONMENT_FILE.lstrip("/")
    settings_file.parent.mkdir(parents=True)
    shutil.copy(ENV_EXAMPLE, settings_file)
    done = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            f"--root={tmp_path}",
            *sorted(p.name for p in units.iterdir()),
        ],
        cwd=units,
        capture_output=True,
        text=True,
    )
    # verify warns about unknown keys and bad values on stderr but still exits 0.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
