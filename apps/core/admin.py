"""Admin building blocks shared by the apps."""

from django.contrib import admin

from apps.core.templatetags.dates import when


def moment_column(field: str, description: str):
    """A list column showing a date-time field in the shop's one compact format ("Nov 25, 2026, 17:20")."""

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        return when(getattr(obj, field)) or "—"

    column.__name__ = f"{field}_column"
    return column


class ServiceSavedAdmin(admin.ModelAdmin):
    """Saves through a service: `save_form` calls it and returns the saved object to the admin."""

    def save_model(self, request, obj, form, change):
        """Already saved by the service in save_form."""

    def save_related(self, request, form, formsets, change):
        """These models have no many-to-many fields or inlines."""


class ReadOnlyAdminMixin:
    """For records that change only through services (ledgers, issued coupons, events): staff can
    look, search and filter, but not add, edit or delete. Works for ModelAdmin and inlines."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
