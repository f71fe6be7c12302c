"""The projection console: health of each projection; catch up, retry, rebuild, verify.

Every operation is queued as a Celery task (run right after the request's commit, or
inline with the embedded default's eager tasks): long work never runs in a web
request. Rebuild and verify progress is read from their rows on each view.
"""

from collections.abc import Callable
from functools import partial

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from eventlog import store

from .. import rebuilds, retries, runner, tasks
from ..models import Checkpoint, ParkedStream, Rebuild
from ..selectors import projection_status_list
from .base import StaffReadOnlyAdmin

Operation = Callable[[str], tuple[int, str]]
# Trouble with a lock or the connection, not with the data: nothing was half done.
BUSY = (*runner.TRANSIENT_ERRORS, runner.StaleCheckpoint)


def _queue(task, *args, **kwargs) -> None:
    # After the read-DB commit, so the worker finds the rows this request wrote.
    transaction.on_commit(partial(task.delay, *args, **kwargs), using=runner.READ_DB)


def catch_up(name: str) -> tuple[int, str]:
    """Queue a catch-up to the head now, parked streams retried first."""
    _queue(tasks.projection_catch_up, name, force=True)
    return messages.SUCCESS, f"{name}: catch-up queued."


def retry(name: str) -> tuple[int, str]:
    """Queue a retry of every parked stream of the projection now."""
    parked = ParkedStream.objects.using(runner.READ_DB).filter(projection=name).count()
    if not parked:
        return messages.INFO, f"{name}: no parked stream to retry."
    _queue(tasks.projection_parked_retry, name, force=True)
    return messages.SUCCESS, f"{name}: retry of {parked} parked stream(s) queued."


def _rebuild(kind: str, name: str) -> tuple[int, str]:
    """Queue a new generation (a rebuild or a verify); refuse while one is active."""
    try:
        with transaction.atomic(using=runner.READ_DB):
            build = rebuilds.rebuild_request(name, kind)
            _queue(tasks.projection_rebuild_run, build.pk)
    except rebuilds.RebuildRunning as running:
        return messages.ERROR, f"Not queued: {running}"
    return messages.SUCCESS, f"{name}: {build.kind} queued; its progress shows below."


OPERATIONS: dict[str, Operation] = {
    "catch_up": catch_up,
    "retry": retry,
    "rebuild": partial(_rebuild, "rebuild"),
    "verify": partial(_rebuild, "verify"),
}

LABELS = [
    ("catch_up", "Catch up now"),
    ("retry", "Retry parked streams"),
    ("rebuild", "Rebuild"),
    ("verify", "Verify"),
]


def projection_health() -> list[dict]:
    """Return each projection's status, its newest parked event linked to the event log admin."""
    statuses = projection_status_list()
    for status in statuses:
        error = status["last_error"]
        if error and error["position"] is not None:
            error["url"] = reverse("admin:eventlog_event_change", args=[error["position"]])
        status["parked_url"] = (
            reverse("admin:orders_read_parkedstream_changelist") + f"?projection={status['name']}"
        )
    return statuses


@admin.register(Checkpoint)
class CheckpointAdmin(StaffReadOnlyAdmin):
    """The Checkpoint list is the projection console; each checkpoint stays read-only."""

    fields = ["name", "position", "updated_at"]
    readonly_fields = fields

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if request.method == "POST":
            return self._operate(request)
        statuses = projection_health()
        context = {
            **self.admin_site.each_context(request),
            "title": "Projections",
            "opts": self.model._meta,
            "statuses": statuses,
            "operations": LABELS,
            # Lag that no worker can shorten: an open transaction on the write database.
            "held_by": store.horizon_holder(),
            # Reload while something is under way, so progress moves by itself.
            "refresh": any(
                (s["rebuild"] and s["rebuild"]["status"] in Rebuild.ACTIVE)
                or s["status"] == "building"
                for s in statuses
            ),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/ordinal/projections.html", context)

    def _operate(self, request: HttpRequest) -> HttpResponse:
        name = request.POST.get("projection", "")
        operation = OPERATIONS.get(request.POST.get("operation", ""))
        if operation is None or name not in runner.projection_names():
            self.message_user(request, "Unknown projection or operation.", messages.ERROR)
        else:
            try:
                level, text = operation(name)
            except BUSY as exc:
                level = messages.WARNING
                text = f"{name}: not done, try again ({type(exc).__name__}: {exc})"
            self.message_user(request, text, level)
        return HttpResponseRedirect(request.path)


@admin.register(ParkedStream)
class ParkedStreamAdmin(StaffReadOnlyAdmin):
    """Streams a projection could not apply: the failing event, the error and traceback."""

    list_display = ["projection", "stream", "event", "event_type", "attempts", "retry_at", "error"]
    list_filter = ["projection", "event_type"]
    search_fields = ["stream_id"]
    ordering = ["projection", "position"]
    fields = [
        "projection",
        "stream_id",
        "position",
        "version",
        "event_type",
        "error",
        "traceback",
        "attempts",
        "parked_at",
        "retry_at",
    ]
    readonly_fields = fields
    actions = ["retry_now"]

    def get_actions(self, request):
        # Only this action: a parked stream is never deleted by hand, a retry removes it.
        return {
            name: action
            for name, action in super().get_actions(request).items()
            if name == "retry_now"
        }

    @admin.display(description="stream", ordering="stream_id")
    def stream(self, parked: ParkedStream):
        url = reverse("admin:eventlog_event_changelist") + f"?q={parked.stream_id}"
        return format_html('<a href="{}">{}</a>', url, parked.stream_id)

    @admin.display(description="first parked event", ordering="position")
    def event(self, parked: ParkedStream):
        url = reverse("admin:eventlog_event_change", args=[parked.position])
        return format_html('<a href="{}">#{} (v{})</a>', url, parked.position, parked.version)

    @admin.action(description="Retry the selected streams now (in stream order)")
    def retry_now(self, request: HttpRequest, queryset) -> None:
        # Short work (a few events per stream), so it runs here, under the checkpoint lock.
        by_projection: dict[str, list] = {}
        for parked in queryset:
            by_projection.setdefault(parked.projection, []).append(parked.stream_id)
        for name, streams in by_projection.items():
            try:
                outcome = retries.parked_retry(name, force=True, stream_ids=streams)
            except BUSY as exc:
                self.message_user(request, f"{name}: not done, try again ({exc})", messages.WARNING)
                continue
            level = messages.WARNING if outcome.failed else messages.SUCCESS
            self.message_user(request, f"{name}: {outcome.summary()}", level)
