"""Building blocks every app's API shares."""

from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON number: "3", 3.0 and true are refused."""

    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class LiveRateUserThrottle(UserRateThrottle):
    """Per user, counted in the shared cache (Redis); subclasses set `scope`.

    The rate is looked up in REST_FRAMEWORK's DEFAULT_THROTTLE_RATES on every request rather than
    frozen at import, so a settings override applies at once.
    """

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
