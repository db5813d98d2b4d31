from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import (
    LoginView,
    LogoutView,
    PasswordChangeView,
    PasswordResetCompleteView,
    PasswordResetConfirmView,
    PasswordResetDoneView,
    PasswordResetView,
)
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from apps.accounts import services
from apps.accounts.forms import ChangePasswordForm, LoginForm, NewPasswordForm, PasswordResetRequestForm, SignupForm
from apps.accounts.throttles import (
    PasswordResetRateThrottle,
    SignupRateThrottle,
    check_login_allowed,
    refused_form,
    seconds_to_wait,
)
from apps.cart import session as guest_cart
from apps.core.errors import ValidationError
from apps.core.redirects import safe_redirect_url


def _next_url(request) -> str:
    return safe_redirect_url(request, request.POST.get("next") or request.GET.get("next")) or "/"


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    wait = seconds_to_wait(SignupRateThrottle, request) if request.method == "POST" else None
    if wait is not None:
        form = refused_form(
            SignupForm(initial={"email": request.POST.get("email", ""), "name": request.POST.get("name", "")}),
            f"Too many sign-ups from your connection. Please wait {wait} second{pluralize(wait)} and try again.",
        )
        response = render(request, "accounts/signup.html", {"form": form, "next": _next_url(request)}, status=429)
        response["Retry-After"] = str(wait)
        return response
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.signup_user(
                email=form.cleaned_data["email"], password=form.cleaned_data["password"], name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            for field, errors in exc.details.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to Flashcart, {user.get_short_name()}!")
            guest_cart.merge_into_user_cart(request)
            return redirect(_next_url(request))
    return render(request, "accounts/signup.html", {"form": form, "next": _next_url(request)})


class ThrottledLoginView(LoginView):
    """Django's login page, with the same attempt limit as POST /api/v1/auth/token."""

    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        wait = check_login_allowed(request)
        if wait is not None:
            # Re-show what was typed without checking the password: the form is not validated.
            form = self.form_class(request, initial={"username": request.POST.get("username", "")})
            context = self.get_context_data(form=form, throttled_seconds=wait)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "You are logged in.")
        guest_cart.merge_into_user_cart(self.request)
        return response


class MessageLogoutView(LogoutView):
    """Logs out on POST only; GET shows a page with the button (a link or a bookmark never logs anyone out)."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return render(request, "accounts/logout.html")

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are logged out.")
        return response


class ThrottledPasswordResetView(PasswordResetView):
    """Asks for a reset mail. The same page follows whether or not the address has an account."""

    template_name = "accounts/password_reset.html"
    form_class = PasswordResetRequestForm
    subject_template_name = "accounts/mail/password_reset_subject.txt"
    email_template_name = "accounts/mail/password_reset.txt"
    html_email_template_name = "accounts/mail/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self):
        """Links in the mail point at SITE_URL, like the order mails, not at whatever Host the request named."""
        return {"site_url": settings.SITE_URL.rstrip("/")}

    def post(self, request, *args, **kwargs):
        wait = seconds_to_wait(PasswordResetRateThrottle, request)
        if wait is None:
            return super().post(request, *args, **kwargs)
        form = refused_form(
            self.form_class(initial={"email": request.POST.get("email", "")}),
            f"Too many reset requests from your connection. Please wait {wait} second{pluralize(wait)} and try again.",
        )
        response = self.render_to_response(self.get_context_data(form=form), status=429)
        response["Retry-After"] = str(wait)
        return response


class ShopPasswordResetDoneView(PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class ShopPasswordResetConfirmView(PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = NewPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")


class ShopPasswordResetCompleteView(PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class ShopPasswordChangeView(PasswordChangeView):
    """Keeps this browser logged in (Django's view updates the session hash); other sessions and the API token end."""

    template_name = "accounts/password_change.html"
    form_class = ChangePasswordForm
    success_url = reverse_lazy("account")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password has been changed.")
        return response


@login_required
@require_http_methods(["GET"])
def account(request):
    return render(request, "accounts/account.html")
