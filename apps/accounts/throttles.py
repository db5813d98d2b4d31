"""The login rate limit, one rule for the API (POST /auth/token) and the login page.

Counted per client address in the cache (Redis when configured), scope "login", rate
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"] (THROTTLE_LOGIN). It slows guessing down;
it is not a security boundary on its own.
"""

from rest_framework.throttling import SimpleRateThrottle


class LoginRateThrottle(SimpleRateThrottle):
    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


def check_login_allowed(request) -> int | None:
    """For the login page: None when a sign-in attempt may go ahead, else seconds to wait."""
    throttle = LoginRateThrottle()
    if throttle.allow_request(request, None):
        return None
    wait = throttle.wait()
    return max(1, round(wait)) if wait is not None else 60
