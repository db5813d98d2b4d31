"""The admin site, with the shop's login throttle on its login page.

The default admin site (apps.accounts.admin_config.ThrottledAdminConfig stands in INSTALLED_APPS
for django.contrib.admin), so /admin/login/ counts attempts per client address in the same "login"
budget as the shop's login page and POST /auth/token: past the limit even the right password is
refused until it resets.
"""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse


class ThrottledAdminSite(admin.AdminSite):
    def login(self, request, extra_context=None):
        from apps.accounts.throttles import check_login_allowed, refused_form  # DRF's settings need the app registry

        wait = check_login_allowed(request) if request.method == "POST" else None
        if wait is None:
            return super().login(request, extra_context)
        # Re-show the e-mail without checking the password: the form is not validated.
        form = refused_form(
            (self.login_form or AdminAuthenticationForm)(request, initial={"username": request.POST.get("username", "")}),
            f"Too many login attempts from your connection. Please wait {wait} second{pluralize(wait)} and try again.",
        )
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
            "form": form,
            REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME, ""),
            **(extra_context or {}),
        }
        request.current_app = self.name
        response = TemplateResponse(request, self.login_template or "admin/login.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response
