"""The base of every read-model admin: staff may look, nobody may touch."""

from django.contrib import admin
from django.http import HttpRequest


def is_staff(request: HttpRequest) -> bool:
    """Return whether the request comes from an active staff user (the admin's one rule)."""
    return request.user.is_active and request.user.is_staff


class StaffReadOnlyAdmin(admin.ModelAdmin):
    """Show rows to staff; refuse adds, changes and deletes to everyone.

    Read models change only through projections (invariant 7: staff act through
    commands), so no model permission could make a row editable here.
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
