from django.contrib.admin.apps import AdminConfig


class ThrottledAdminConfig(AdminConfig):
    """django.contrib.admin, whose default site throttles its login page (apps/accounts/admin_site.py)."""

    default_site = "apps.accounts.admin_site.ThrottledAdminSite"
