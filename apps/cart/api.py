from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.cart import selectors, services
from apps.catalog.api import ProductOutput
from apps.core.api import CurrencyField, StrictIntegerField
from apps.core.models import MAX_ID
from apps.core.schema import error_responses


def quantity_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=settings.ORDER_MAX_LINE_QUANTITY, **kwargs)


def id_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class CartOutput(serializers.Serializer):
    class Line(serializers.Serializer):
        id = serializers.IntegerField()
        product = ProductOutput()
        quantity = serializers.IntegerField()
        line_total = serializers.IntegerField()

    items = Line(many=True, source="lines")
    subtotal = serializers.IntegerField()
    currency = CurrencyField()


def _cart_response(user, status_code=status.HTTP_200_OK) -> Response:
    return Response(CartOutput(selectors.cart_summary(user=user)).data, status=status_code)


class CartApi(APIView):
    @extend_schema(operation_id="cart_retrieve", responses={200: CartOutput, **error_responses(401)})
    def get(self, request):
        return _cart_response(request.user)

    @extend_schema(operation_id="cart_clear", responses={204: None, **error_responses(401)})
    def delete(self, request):
        services.clear_cart(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CartItemAddApi(APIView):
    class Input(serializers.Serializer):
        product_id = id_field()
        quantity = quantity_field()

    @extend_schema(
        operation_id="cart_item_add",
        request=Input,
        responses={
            201: CartOutput,
            **error_responses(400, 401, 409, 422, s409="OUT_OF_STOCK (details: product_id, requested, available).", s422="PRODUCT_UNAVAILABLE."),
        },
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.add_to_cart(user=request.user, **data.validated_data)
        return _cart_response(request.user, status.HTTP_201_CREATED)


class CartItemApi(APIView):
    patch_is_partial = False  # PATCH takes the new quantity, required (API.md)

    class Input(serializers.Serializer):
        quantity = quantity_field()

    @extend_schema(
        operation_id="cart_item_update",
        request=Input,
        responses={
            200: CartOutput,
            **error_responses(
                400, 401, 404, 409, 422, s404="NOT_FOUND (also another user's item).", s409="OUT_OF_STOCK.", s422="PRODUCT_UNAVAILABLE."
            ),
        },
    )
    def patch(self, request, item_id: int):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.update_cart_item(user=request.user, item_id=item_id, **data.validated_data)
        return _cart_response(request.user)

    @extend_schema(
        operation_id="cart_item_remove",
        responses={200: CartOutput, **error_responses(401, 404)},
    )
    def delete(self, request, item_id: int):
        services.remove_cart_item(user=request.user, item_id=item_id)
        return _cart_response(request.user)
