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


class PopularProductsApi(APIView):
    """Best sellers over the last `days` calendar days (today included, in the shop's time zone).

    Units sold in paid orders not later cancelled; ties go to more revenue, then the lower product
    id. Read from the lists the aggregation publishes, so it may lag sales by one interval (60 s).
    """

    permission_classes = [AllowAny]

    class Input(serializers.Serializer):
        days = QueryIntegerField(min_value=1, max_value=selectors.MAX_DAYS, default=DEFAULT_DAYS, help_text="Calendar days, today included.")
        limit = QueryIntegerField(min_value=1, max_value=selectors.TOP_LIST_SIZE, default=DEFAULT_LIMIT)

    class Output(serializers.Serializer):
        class Entry(serializers.Serializer):
            rank = serializers.IntegerField()
            product = ProductOutput()
            quantity_sold = serializers.IntegerField()

        days = serializers.IntegerField()
        results = Entry(many=True)

    @extend_schema(
        parameters=[Input],
        responses={200: Output, **error_responses(400, 401, s401="INVALID_CREDENTIALS: a token was sent and is not valid (none is needed).")},
    )
    def get(self, request):
        params = self.Input(data=request.query_params)
        params.is_valid(raise_exception=True)
        days, limit = params.validated_data["days"], params.validated_data["limit"]
        results = selectors.popular_products(days=days, limit=limit)
        # Output's shape, filled directly: ten nested product serializers built per request cost
        # more than the rest of the read (catalog's product_data reuses one).
        entries = [{"rank": entry.rank, "product": product_data(entry.product), "quantity_sold": entry.quantity_sold} for entry in results]
        return Response({"days": days, "results": entries})
