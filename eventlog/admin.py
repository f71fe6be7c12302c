"""The event log in the admin: a strictly read-only browser, and the data keys' states.

Personal fields are sealed in the log (DESIGN §12). The browser shows them opened only
to staff holding `eventlog.view_personal_data`; to other staff each reads "[encrypted]".
Once the owner is forgotten every reader sees "[forgotten]", and a ciphertext that fails
its tag reads "[unreadable]": the page shows what it can, it never breaks on the log.
"""

import json
from typing import Any
from uuid import UUID

from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

# The admin is a UI over both sides (STYLE): the domain names which fields are personal.
from orders_write.domain.events import personal_fields

from .crypto import Unreadable
from .models import DataKey, Event
from .personal import ENVELOPE, Opener, UnreadableEvent
from .store import ROW_FIELDS, RecordedEvent

VIEW_PERSONAL_DATA = "eventlog.view_personal_data"
ENCRYPTED = "[encrypted]"
FORGOTTEN = "[forgotten]"
UNREADABLE = "[unreadable]"

Data = dict[str, Any]


def data_shown(event: RecordedEvent, *, may_open: bool) -> Data:
    """Return the event's data as the browser shows it: stored, personal fields marked.

    Sealed fields come out of their envelope opened (`may_open`) or as "[encrypted]";
    "[forgotten]" once the owner is forgotten (also for fields stored in clear before
    sealing existed); "[unreadable]" if the envelope does not open.
    """
    data = event.data
    envelope = data.get(ENVELOPE)
    opener = Opener([event], personal_fields()) if _well_formed(envelope) else None
    if envelope is None:
        fields = [name for name in personal_fields().get(event.type, ()) if name in data]
        if fields and opener.forgotten(event):
            return _marked(data, fields, FORGOTTEN)
        return data
    if opener is None:  # names no key or fields: nothing in it can be trusted
        return {**data, ENVELOPE: UNREADABLE}
    fields = envelope["fields"]
    if opener.forgotten(event):
        return _marked(data, fields, FORGOTTEN)
    if not may_open:
        return _marked(data, fields, ENCRYPTED)
    try:
        return opener.open(event).data
    except (UnreadableEvent, Unreadable):  # tampered with, key row missing, wrong master key
        return _marked(data, fields, UNREADABLE)


def _marked(data: Data, fields: list[str], marker: str) -> Data:
    """Return the data without its envelope, each of these fields reading `marker`."""
    out = {name: value for name, value in data.items() if name != ENVELOPE}
    out.update(dict.fromkeys(fields, marker))
    return out


def _well_formed(envelope: object) -> bool:
    """Tell whether there is no envelope, or one the Opener can read."""
    if envelope is None:
        return True
    if not isinstance(envelope, dict) or not isinstance(envelope.get("fields"), list):
        return False
    try:
        UUID(str(envelope.get("key_id")))  # the key lookup refuses anything else
    except ValueError:
        return False
    return all(isinstance(name, str) for name in envelope["fields"])


def recorded(row: Event) -> RecordedEvent:
    """Return the log row as the recorders give it (what the Opener reads)."""
    return RecordedEvent(*(getattr(row, name) for name in ROW_FIELDS))


class StaffMayLook(admin.ModelAdmin):
    """Staff may browse, superuser or not; nobody may add, change or delete."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        return {}  # no "delete selected"


@admin.register(Event)
class EventAdmin(StaffMayLook):
    """Browse events; nobody may add, change or delete them, superusers included."""

    list_display = (
        "position",
        "type",
        "schema_version",
        "stream_type",
        "stream_id",
        "version",
        "recorded_at",
    )
    list_filter = ("type", "stream_type", ("recorded_at", admin.DateFieldListFilter))
    search_fields = ("=stream_id",)
    date_hierarchy = "recorded_at"
    ordering = ("-position",)
    list_per_page = 50
    show_full_result_count = False
    fields = (
        "position",
        "stream_type",
        "stream_id",
        "version",
        "type",
        "schema_version",
        "recorded_at",
        "pretty_data",
        "pretty_metadata",
    )
    readonly_fields = fields

    def get_object(self, request: HttpRequest, object_id: str, from_field=None) -> Event | None:
        """Return the event, with the data this user may see of it (`data_shown`)."""
        event = super().get_object(request, object_id, from_field)
        if event is not None:
            may_open = request.user.has_perm(VIEW_PERSONAL_DATA)
            event.data_shown = data_shown(recorded(event), may_open=may_open)
        return event

    # The data as stored, in the shape of its schema_version (readers upcast it; this shows
    # what the log holds, which is never rewritten), personal fields as `data_shown` says.
    @admin.display(description="data (as stored)")
    def pretty_data(self, event: Event) -> str:
        shown = getattr(event, "data_shown", None)
        if shown is None:  # not fetched by get_object: show no personal data
            shown = data_shown(recorded(event), may_open=False)
        return _pretty(shown)

    @admin.display(description="metadata")
    def pretty_metadata(self, event: Event) -> str:
        return _pretty(event.metadata)


@admin.register(DataKey)
class DataKeyAdmin(StaffMayLook):
    """Whose data key exists and whether it was destroyed; never the key itself."""

    list_display = ("owner", "state", "master_key_id", "created_at", "forgotten_at")
    fields = list_display
    readonly_fields = fields
    search_fields = ("owner",)
    list_filter = (("forgotten_at", admin.EmptyFieldListFilter),)
    ordering = ("owner",)
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The wrapped key never leaves the database here: only whether it is gone.
        gone = ExpressionWrapper(Q(wrapped__isnull=True), output_field=BooleanField())
        return super().get_queryset(request).defer("wrapped").annotate(forgotten=gone)

    @admin.display(description="state", ordering="forgotten")
    def state(self, key: DataKey) -> str:
        return "forgotten" if key.forgotten else "live"


def _pretty(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))
