"""Building blocks every app's API shares."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from apps.core.throttling import FailOpenThrottleMixin
from apps.core.validation import is_whole_number, parse_whole_number

WHOLE_NUMBER_REQUIRED = "A whole number is required."


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON number ("3", 3.0 and true are refused), always bounded.

    The bounds are required: an unbounded integer reaches the database (or date arithmetic) out of
    range. Use apps.core.validation's constants for column ranges.
    """

    default_error_messages = {"invalid": WHOLE_NUMBER_REQUIRED}

    def __init__(self, *, min_value: int, max_value: int, **kwargs):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    def to_internal_value(self, data):
        if not is_whole_number(data):
            self.fail("invalid")
        return data


class QueryIntegerField(serializers.IntegerField):
    """A bounded whole number in a query string, in plain ASCII digits: "²", " 3", "+3" and "3.0" are refused."""

    default_error_messages = {"invalid": WHOLE_NUMBER_REQUIRED}

    def __init__(self, *, min_value: int, max_value: int, **kwargs):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    def to_internal_value(self, data):
        number = parse_whole_number(data)
        if number is None:
            self.fail("invalid")
        return number


@extend_schema_field(OpenApiTypes.STR)
class CurrencyField(serializers.Field):
    """settings.CURRENCY: API.md puts it on every response that carries money."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, help_text="ISO 4217 code of the minor units, e.g. USD.", **kwargs)

    def to_representation(self, value) -> str:
        return settings.CURRENCY


class LiveRateUserThrottle(FailOpenThrottleMixin, UserRateThrottle):
    """Per user, counted in the shared cache (Redis); subclasses set `scope`.

    The rate is looked up in REST_FRAMEWORK's DEFAULT_THROTTLE_RATES on every request rather than
    frozen at import, so a settings override applies at once.
    """

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
