"""GET /metrics: each process tree's samples added up, and the projections' gauges read now.

Refused with a 403 problem unless METRICS_ALLOW names the caller's address or the
caller is staff (README "Metrics").
"""

from collections.abc import Iterator
from ipaddress import ip_address

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from eventlog import store
from orders_read.selectors import projection_lag_list
from orders_write.inbox.entries import commands_waiting

from .metrics_dir import metrics_files
from .problems import ProblemError

# (metric name, help, the row's field) of the per-projection, per-partition gauges.
PROJECTION_GAUGES = (
    ("ordinal_projection_position", "Log position the projection has applied.", "position"),
    ("ordinal_projection_lag_events", "Committed events not applied yet.", "lag_events"),
    (
        "ordinal_projection_lag_seconds",
        "Age of the oldest committed event not applied yet (0 when caught up).",
        "lag_seconds",
    ),
    ("ordinal_projection_parked_streams", "Streams parked (held back).", "parked_streams"),
)
PROJECTION_LABELS = ["projection", "partition"]
INBOX_DEPTH = "ordinal_command_inbox_depth"
TREE_LABEL = "process_tree"


class ProcessesCollector:
    """The counters and histograms of every process, added up per process tree.

    One series per tree (label `process_tree`, its root's pid), not one sum of all: when
    a service restarts, its tree's series start from zero as a new series instead of
    making a machine-wide sum drop, which Prometheus would take for a reset of the whole.
    """

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for tree, files in metrics_files(settings.ORDINAL_METRICS_DIR).items():
            try:
                families = MultiProcessCollector.merge(files)
            except FileNotFoundError:
                continue  # a dead tree's directory, swept by a process starting meanwhile
            for family in families:
                into = merged.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    into.add_sample(sample.name, {**sample.labels, TREE_LABEL: tree}, sample.value)
        return iter(merged.values())


class ProjectionsCollector:
    """The projections' position, lag and parked streams, read from the databases now."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "ordinal_projection_status_up",
            "1 if the projections' gauges could be read from the databases, else 0.",
        )
        try:
            rows, head = projection_lag_list(), store.head_position()
        except DatabaseError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        log_head = GaugeMetricFamily("ordinal_event_log_head_position", "Highest log position.")
        log_head.add_metric([], head)
        yield log_head
        for name, documentation, field in PROJECTION_GAUGES:
            gauge = GaugeMetricFamily(name, documentation, labels=PROJECTION_LABELS)
            for row in rows:
                gauge.add_metric([row["projection"], row["partition"]], row[field])
            yield gauge


class InboxCollector:
    """Asynchronous commands queued and running in the command inbox, read now."""

    def collect(self) -> Iterator[Metric]:
        try:
            waiting = commands_waiting()
        except DatabaseError:
            return  # ordinal_projection_status_up says the databases did not answer
        depth = GaugeMetricFamily(
            INBOX_DEPTH,
            "Asynchronous commands in the command inbox, queued or running.",
            labels=["status"],
        )
        for status, count in waiting.items():
            depth.add_metric([status], count)
        yield depth


def exposition() -> bytes:
    """Return the metrics in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessesCollector())
    registry.register(ProjectionsCollector())
    registry.register(InboxCollector())
    return generate_latest(registry)


def client_address(request: Request) -> str:
    """Return the caller's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the
    address the first of them saw (the count-th X-Forwarded-For entry from the right).

    A request through the proxies always carries their entries; one with fewer than the
    count is refused (""), one without any came straight here (a local scraper).
    """
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if count > 0 and forwarded is not None:
        entries = [entry.strip() for entry in forwarded.split(",")]
        return entries[-count] if len(entries) >= count else ""
    return request.META.get("REMOTE_ADDR", "")


def address_allowed(address: str) -> bool:
    """Tell whether METRICS_ALLOW names the address."""
    try:
        found = ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if found.version == 6 and found.ipv4_mapped is not None:
        found = found.ipv4_mapped  # an IPv4 caller of a server bound to [::]
    return any(found in network for network in settings.METRICS_ALLOW_NETWORKS)


class AnyAccept(BaseContentNegotiation):
    """Answer whatever a scraper accepts: the text format, or a problem in JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None


class MetricsView(APIView):
    """The Prometheus metrics (text format), for METRICS_ALLOW addresses and staff."""

    schema = None  # not an operation of the documented API
    permission_classes = [AllowAny]  # checked below: an address, or a staff user
    renderer_classes = [JSONRenderer]  # for problems only
    content_negotiation_class = AnyAccept

    def get(self, request: Request) -> HttpResponse:
        if not (address_allowed(client_address(request)) or request.user.is_staff):
            raise ProblemError(
                403, "permission-denied", "Metrics are for METRICS_ALLOW addresses and staff."
            )
        return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
