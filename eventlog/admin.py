"""The event log in the admin: a strictly read-only browser."""

import json

from django.contrib import admin
from django.utils.html import format_html

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
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

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff  # staff, superuser or not

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}  # no "delete selected"

    # The data as stored, in the shape of its schema_version (readers upcast it; this shows
    # what the log holds, which is never rewritten).
    @admin.display(description="data (as stored)")
    def pretty_data(self, event: Event) -> str:
        return _pretty(event.data)

    @admin.display(description="metadata")
    def pretty_metadata(self, event: Event) -> str:
        return _pretty(event.metadata)


def _pretty(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))
