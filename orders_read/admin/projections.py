"""The projection console: health of each projection, and catch up, retry, rebuild, verify."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from .. import runner
from ..models import Checkpoint
from ..selectors import projection_status_list
from ..verify import projection_verify
from .base import StaffReadOnlyAdmin

Operation = Callable[[str], tuple[int, str]]
# Trouble with a lock or the connection, not with the data: nothing was half done.
BUSY = (*runner.TRANSIENT_ERRORS, runner.StaleCheckpoint)


def catch_up(name: str) -> tuple[int, str]:
    """Run the projection up to the head now, its retry backoff notwithstanding."""
    try:
        count = runner.projection_catch_up(name, force=True)
    except runner.ProjectionFailed as failed:
        return messages.ERROR, str(failed)
    return messages.SUCCESS, f"{name}: caught up, {count} event(s) applied."


def retry(name: str) -> tuple[int, str]:
    """Retry the failed event now instead of waiting for the backoff."""
    failing = Checkpoint.objects.using(runner.READ_DB).filter(name=name).first()
    if failing is None or failing.error_position is None:
        return messages.INFO, f"{name}: no failed event to retry."
    try:
        count = runner.projection_catch_up(name, force=True)
    except runner.ProjectionFailed as failed:
        return messages.ERROR, f"Retry failed: {failed}"
    return (
        messages.SUCCESS,
        f"{name}: the event at position {failing.error_position} is applied now "
        f"({count} event(s) in all).",
    )


def rebuild(name: str) -> tuple[int, str]:
    """Replay the whole log into an emptied read model (one transaction)."""
    try:
        count = runner.projection_rebuild(name)
    except runner.HandlerFailed as exc:
        return messages.ERROR, f"{name}: rebuild rolled back, the live model is unchanged: {exc}"
    return messages.SUCCESS, f"{name}: rebuilt from {count} event(s)."


def verify(name: str) -> tuple[int, str]:
    """Compare the live read model with a scratch replay of the log."""
    result = projection_verify(name)
    return (messages.SUCCESS if result.matches else messages.ERROR), result.summary()


OPERATIONS: dict[str, Operation] = {
    "catch_up": catch_up,
    "retry": retry,
    "rebuild": rebuild,
    "verify": verify,
}

LABELS = [
    ("catch_up", "Catch up now"),
    ("retry", "Retry failed event"),
    ("rebuild", "Rebuild"),
    ("verify", "Verify"),
]


def projection_health() -> list[dict]:
    """Return each projection's status, its failing event linked to the event log admin."""
    statuses = projection_status_list()
    for status in statuses:
        error = status["last_error"]
        if error and error["position"] is not None:
            error["url"] = reverse("admin:eventlog_event_change", args=[error["position"]])
    return statuses


@admin.register(Checkpoint)
class CheckpointAdmin(StaffReadOnlyAdmin):
    """The Checkpoint list is the projection console; each checkpoint stays read-only."""

    fields = [
        "name",
        "position",
        "updated_at",
        "last_error",
        "error_position",
        "attempts",
        "retry_at",
    ]
    readonly_fields = fields

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if request.method == "POST":
            return self._operate(request)
        context = {
            **self.admin_site.each_context(request),
            "title": "Projections",
            "opts": self.model._meta,
            "statuses": projection_health(),
            "operations": LABELS,
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
