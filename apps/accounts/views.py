from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView, LogoutView
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_http_methods

from apps.accounts import services
from apps.accounts.forms import LoginForm, SignupForm
from apps.accounts.throttles import SignupRateThrottle, check_login_allowed, refused_form, seconds_to_wait
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
        return response


class MessageLogoutView(LogoutView):
    """POST only (Django's LogoutView refuses GET)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are logged out.")
        return response
