import re
from datetime import date

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.api import ProductOutput, product_data
from apps.core.api import QueryIntegerField
from apps.core.schema import error_responses
from apps.rankings import selectors

DEFAULT_DAYS = 3
DEFAULT_LIMIT = 10
BAD_TOKEN = "INVALID_CREDENTIALS: a token was sent and is not valid (none is needed)."


class PopularProductsApi(APIView):
    """Best sellers over the last `days` calendar days (today included, in the shop's time zone).

    Units sold in paid orders not later cancelled; ties go to more revenue, then the lower product
    id. Reflects a payment or a cancellation within seconds (the rankings consumer and Redis).
    """

    permission_classes = [AllowAny]

    class Input(serializers.Serializer):
        days = QueryIntegerField(min_value=1, max_value=selectors.MAX_DAYS, default=DEFAULT_DAYS, help_text="Calendar days, today included.")
        limit = QueryIntegerField(min_value=1, max_value=selectors.MAX_LIMIT, default=DEFAULT_LIMIT)

    class Output(serializers.Serializer):
        class Entry(serializers.Serializer):
            rank = serializers.IntegerField()
            product = ProductOutput()
            quantity_sold = serializers.IntegerField()

        days = serializers.IntegerField()
        results = Entry(many=True)

    @extend_schema(parameters=[Input], responses={200: Output, **error_responses(400, 401, s401=BAD_TOKEN)})
    def get(self, request):
        params = self.Input(data=request.query_params)
        params.is_valid(raise_exception=True)
        days, limit = params.validated_data["days"], params.validated_data["limit"]
        results = selectors.popular_products(days=days, limit=limit)
        # Output's shape, filled directly: ten nested product serializers built per request cost
        # more than the rest of the read (catalog's product_data reuses one).
        entries = [{"rank": entry.rank, "product": product_data(entry.product), "quantity_sold": entry.quantity_sold} for entry in results]
        return Response({"days": days, "results": entries})


class StrictDateField(serializers.DateField):
    """A date written exactly YYYY-MM-DD (no other ISO 8601 form)."""

    default_error_messages = {"invalid": "A date in YYYY-MM-DD form is required."}
    PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not self.PATTERN.fullmatch(value):
            self.fail("invalid")
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail("invalid")


class CalendarRankingsApi(APIView):
    """Best sellers of the calendar day, ISO week (Monday to Sunday) or month containing `date` (default today).

    Days are the shop's (settings.TIME_ZONE); same counting and ties as popular products.
    """

    permission_classes = [AllowAny]

    class Input(serializers.Serializer):
        period = serializers.ChoiceField(choices=selectors.Period.CHOICES, default=selectors.Period.DAY)
        date = StrictDateField(required=False, help_text="YYYY-MM-DD; default today in the shop's time zone.")
        limit = QueryIntegerField(min_value=1, max_value=selectors.MAX_LIMIT, default=DEFAULT_LIMIT)

        def validate(self, attrs):
            try:
                selectors.period_bounds(attrs["period"], attrs.get("date") or selectors.local_today())
            except OverflowError:
                raise serializers.ValidationError({"date": ["The period must end by 9999-12-31."]}) from None
            return attrs

    class Output(serializers.Serializer):
        class Entry(serializers.Serializer):
            rank = serializers.IntegerField()
            product = ProductOutput()
            quantity_sold = serializers.IntegerField()
            revenue = serializers.IntegerField(help_text="Sum of line totals, minor units of the product's currency.")

        period = serializers.ChoiceField(choices=selectors.Period.CHOICES)
        start = serializers.DateField()
        end = serializers.DateField()
        results = Entry(many=True)

    @extend_schema(parameters=[Input], responses={200: Output, **error_responses(400, 401, s401=BAD_TOKEN)})
    def get(self, request):
        params = self.Input(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        ranking = selectors.calendar_ranking(period=data["period"], day=data.get("date") or selectors.local_today(), limit=data["limit"])
        entries = [
            {"rank": entry.rank, "product": product_data(entry.product), "quantity_sold": entry.quantity_sold, "revenue": entry.revenue}
            for entry in ranking.results
        ]
        return Response({"period": ranking.period, "start": ranking.start.isoformat(), "end": ranking.end.isoformat(), "results": entries})
