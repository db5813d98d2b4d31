"""Catalog and staff-product endpoints of API.md. Thin: parse, call a selector or service, serialize."""

import functools

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from apps.catalog import selectors, services
from apps.catalog.filters import ORDERING_LABELS
from apps.catalog.images import absolute_image_url
from apps.catalog.models import MAX_AMOUNT, Category, Product
from apps.core.api import CurrencyField, StrictIntegerField
from apps.core.models import MAX_ID
from apps.core.pagination import PAGE_PARAMETER, PAGE_QUERY_PARAMETERS, PAGE_SIZE_PARAMETER, parse_page_number, parse_page_size
from apps.core.schema import error_responses


# Plain serializers with declared fields: a ModelSerializer rebuilds its fields from the model on
# every request, which cost a cached product read a third of its time (bench/run.py).
class CategoryOutput(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=Category._meta.get_field("name").max_length)
    slug = serializers.SlugField(max_length=Category._meta.get_field("slug").max_length)


class ProductOutput(serializers.Serializer):
    """API.md's Product; other apps embed it (cart lines, rankings)."""

    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    slug = serializers.SlugField(read_only=True)
    description = serializers.CharField(read_only=True)
    price = serializers.IntegerField(read_only=True)
    currency = CurrencyField()
    stock = serializers.IntegerField(read_only=True)
    category = CategoryOutput(allow_null=True)
    image_url = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_image_url(self, product: Product) -> str | None:
        return absolute_image_url(product)


@functools.cache
def _shared_product_output() -> ProductOutput:
    return ProductOutput()


def product_data(product: Product) -> dict:
    """API.md's Product for one product, from a serializer built once per process.

    Building a serializer's fields costs ten times more than filling them, and a read of a cached
    product does little else; to_representation keeps no state, so requests can share it.
    """
    return _shared_product_output().to_representation(product)


class ProductPageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProductOutput(many=True)


class StrictFieldsInput(serializers.Serializer):
    """Refuses fields it does not know, so a typo (or `stock` in a PATCH) is a 400, not a silent no-op."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


def _amount(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=0, max_value=MAX_AMOUNT, **kwargs)


class CategoryListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: CategoryOutput(many=True)}, tags=["catalog"])
    def get(self, request):
        return Response(CategoryOutput(selectors.list_categories(), many=True).data)


class ProductListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("category", str, description="Category slug."),
            OpenApiParameter("q", str, description="Text in the name or description."),
            OpenApiParameter("min_price", {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT}, description="Minor units, inclusive."),
            OpenApiParameter("max_price", {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT}, description="Minor units, inclusive."),
            OpenApiParameter("in_stock", bool, description="`true`: only products with stock."),
            OpenApiParameter("ordering", str, enum=list(ORDERING_LABELS), description="Default `newest`."),
            *PAGE_QUERY_PARAMETERS,
        ],
        responses={200: ProductPageOutput, **error_responses(400, 404)},
        operation_id="products_list",
        tags=["catalog"],
    )
    def get(self, request):
        page_number = parse_page_number(request.query_params.get(PAGE_PARAMETER))
        page_size = parse_page_size(request.query_params.get(PAGE_SIZE_PARAMETER))
        page = selectors.product_page(filters=request.query_params, page=page_number, page_size=page_size)
        return Response(
            {
                "count": page.count,
                "next": self._page_link(request, page.next_page_number) if page.has_next else None,
                "previous": self._page_link(request, page.previous_page_number) if page.has_previous else None,
                "results": [product_data(product) for product in page.products],
            }
        )

    @staticmethod
    def _page_link(request, number: int) -> str:
        url = request.build_absolute_uri()
        return remove_query_param(url, "page") if number == 1 else replace_query_param(url, "page", number)


class ProductDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ProductOutput, **error_responses(404)}, tags=["catalog"])
    def get(self, request, product_id: int):
        return Response(product_data(selectors.get_product(product_id=product_id)))


class StaffProductCreateApi(APIView):
    permission_classes = [IsAdminUser]

    class Input(StrictFieldsInput):
        sku = serializers.CharField(max_length=64)
        name = serializers.CharField(max_length=200)
        price = _amount()
        stock = _amount()
        category_id = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
        description = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=Input, responses={201: ProductOutput, **error_responses(400, 401, 403)}, tags=["staff"])
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.create_product(**data.validated_data)
        return Response(ProductOutput(product).data, status=status.HTTP_201_CREATED)


class StaffProductUpdateApi(APIView):
    permission_classes = [IsAdminUser]

    class Input(StrictFieldsInput):
        name = serializers.CharField(max_length=200, required=False)
        price = _amount(required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        is_active = serializers.BooleanField(required=False)

    @extend_schema(request=Input, responses={200: ProductOutput, **error_responses(400, 401, 403, 404)}, tags=["staff"])
    def patch(self, request, product_id: int):
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        product = services.update_product(product_id=product_id, **data.validated_data)
        return Response(ProductOutput(product).data)


class StaffProductStockApi(APIView):
    permission_classes = [IsAdminUser]

    class Input(StrictFieldsInput):
        delta = StrictIntegerField(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, help_text="Not 0; negative removes stock.")
        reason = serializers.CharField(max_length=255)

        def validate_delta(self, value: int) -> int:
            if value == 0:
                raise serializers.ValidationError("Must not be 0.")
            return value

    @extend_schema(
        request=Input,
        responses={
            200: ProductOutput,
            **error_responses(400, 401, 403, 404, 409, s409="OUT_OF_STOCK: the stock would go below 0; nothing changed."),
        },
        tags=["staff"],
    )
    def post(self, request, product_id: int):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.adjust_stock(product_id=product_id, actor=request.user, **data.validated_data)
        return Response(ProductOutput(product).data)
