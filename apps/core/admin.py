"""Admin building blocks shared by the apps."""


class ReadOnlyAdminMixin:
    """For records that change only through services (ledgers, issued coupons, events): staff can
    look, search and filter, but not add, edit or delete. Works for ModelAdmin and inlines."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
