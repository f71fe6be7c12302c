"""The exposition is valid Prometheus text; the README, alerts and dashboard name its metrics."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from orders_read import tasks

from .conftest import BOTH_DATABASES
from .scrape import families

DEPLOY = Path(settings.BASE_DIR) / "deploy"
README = Path(settings.BASE_DIR) / "README.md"
INBOX_DEPTH = "ordinal_command_inbox_depth"
PROMTOOL = shutil.which("promtool")
# CI installs Debian's prometheus package: there a missing promtool fails instead of skipping.
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and not os.environ.get("ORDINAL_REQUIRE_PROMTOOL"),
    reason="no promtool (apt-get install prometheus)",
)

pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)


@pytest.fixture
def exposition(client, alice_client) -> str:
    """The text of /metrics after a command, a query and a task: every family shown."""
    body = {"currency": "EUR", "items": [{"sku": "A-1", "quantity": 1, "unit_price": "2.00"}]}
    assert alice_client.post("/api/orders/", body, format="json").status_code == 201
    assert alice_client.get("/api/orders/").status_code == 200
    tasks.projection_catch_up.apply(args=["order_view"])  # a Celery task, run here
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return response.content.decode()


def exposed_names(text: str) -> set[str]:
    """Return the names the README documents: a counter's with its `_total`."""
    return {name + "_total" if kind == "counter" else name for name, kind in families(text).items()}


def metrics_section() -> str:
    text = README.read_text()
    return text.split("### Metrics", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]


def test_every_metric_is_ordinal_s_and_of_the_expected_kind(exposition):
    assert families(exposition) == {
        "ordinal_commands": "counter",
        "ordinal_command_duration_seconds": "histogram",
        "ordinal_events_appended": "counter",
        "ordinal_queries": "counter",
        "ordinal_query_duration_seconds": "histogram",
        "ordinal_celery_tasks": "counter",
        "ordinal_projection_status_up": "gauge",
        "ordinal_event_log_head_position": "gauge",
        "ordinal_projection_position": "gauge",
        "ordinal_projection_lag_events": "gauge",
        "ordinal_projection_lag_seconds": "gauge",
        "ordinal_projection_parked_streams": "gauge",
        "ordinal_command_inbox_depth": "gauge",
    }


@needs_promtool
def test_promtool_finds_nothing_to_say_about_the_exposition(exposition):
    checked = subprocess.run(
        [PROMTOOL or "promtool", "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not (checked.stdout + checked.stderr).strip()  # no lint remark either


def test_the_readme_documents_every_metric_and_no_other(exposition):
    section = metrics_section()
    documented = set(re.findall(r"`(ordinal_[a-z_]+)`", section))
    assert exposed_names(exposition) == documented


@needs_promtool
@pytest.mark.parametrize(
    "check", [("config", "prometheus.yml"), ("rules", "ordinal-alerts.yml")], ids=str
)
def test_promtool_accepts_the_scrape_config_and_the_alert_rules(check):
    kind, name = check
    checked = subprocess.run(
        [PROMTOOL or "promtool", "check", kind, str(DEPLOY / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alerts_watch_lag_parked_streams_and_the_inbox():
    rules = (DEPLOY / "ordinal-alerts.yml").read_text()
    alerts = re.findall(r"- alert: (\w+)\n\s+#[^\n]*\n(?:\s+#[^\n]*\n)*\s+expr: ([^\n]+)", rules)
    watched = {name: re.findall(r"ordinal_[a-z_]+", expr) for name, expr in alerts}
    assert watched == {
        "OrdinalProjectionLagging": ["ordinal_projection_lag_seconds"],
        "OrdinalParkedStreams": ["ordinal_projection_parked_streams"],
        "OrdinalCommandInboxBacklog": [INBOX_DEPTH],
    }


def test_the_dashboard_charts_every_metric_and_only_real_ones(exposition):
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    charted = {name for expr in expressions for name in re.findall(r"ordinal_[a-z_]+", expr)}
    # A histogram is charted by its buckets.
    charted = {re.sub(r"_bucket$", "", name) for name in charted}
    assert charted == exposed_names(exposition)
