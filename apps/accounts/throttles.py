"""Per-client rate limits on signing in, signing up and password reset mails, one rule each for the API and the pages.

Counted per client address in the cache (Redis when configured): REMOTE_ADDR, or the address
NUM_PROXIES trusted proxies forwarded (none by default, so X-Forwarded-For is ignored). Rates are
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]: "login" (THROTTLE_LOGIN) for POST /auth/token, the
login page and the admin's login, "signup" (THROTTLE_SIGNUP) for POST /auth/signup and the signup
page, "password_reset" (THROTTLE_PASSWORD_RESET) for the password reset page. They slow
guessing, account farming and mail bombing down; they are not a security boundary on their own,
and they fail open (with a warning) when the cache is down.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.forms import Form
from django.forms.utils import ErrorDict
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from apps.core.throttling import FailOpenThrottleMixin


class ClientAddressPostThrottle(FailOpenThrottleMixin, SimpleRateThrottle):
    """Counts POSTs per client address; subclasses set `scope`. The rate is read per request."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


class LoginRateThrottle(ClientAddressPostThrottle):
    scope = "login"


class SignupRateThrottle(ClientAddressPostThrottle):
    scope = "signup"


class PasswordResetRateThrottle(ClientAddressPostThrottle):
    """Requests for a reset mail (THROTTLE_PASSWORD_RESET): each one sends mail to someone's inbox."""

    scope = "password_reset"


def seconds_to_wait(throttle_class: type[ClientAddressPostThrottle], request) -> int | None:
    """For the pages: None when the POST may go ahead, else whole seconds to wait (at least 1)."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    wait = throttle.wait()
    return max(1, round(wait)) if wait is not None else 60


def check_login_allowed(request) -> int | None:
    """For the login pages: None when a sign-in attempt may go ahead, else seconds to wait."""
    return seconds_to_wait(LoginRateThrottle, request)


def refused_form(form: Form, message: str) -> Form:
    """An unbound form (what was typed re-shown, nothing checked) carrying `message` as its error."""
    form._errors = ErrorDict({NON_FIELD_ERRORS: form.error_class([message], error_class="nonfield", renderer=form.renderer)})
    return form
