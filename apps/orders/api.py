from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.cart.api import id_field, quantity_field
from apps.catalog import stock_gate
from apps.core.api import CurrencyField
from apps.core.idempotency import HEADER, idempotent, may_replay
from apps.core.pagination import PAGE_QUERY_PARAMETERS, PageNumberPagination
from apps.core.schema import error_responses
from apps.orders import selectors, services
from apps.orders.models import Order
from apps.payments.models import Payment


class OrderOutput(serializers.Serializer):
    class Item(serializers.Serializer):
        product_id = serializers.IntegerField()
        product_name = serializers.CharField()
        unit_price = serializers.IntegerField()
        quantity = serializers.IntegerField()
        line_total = serializers.IntegerField()

    class PaymentOutput(serializers.Serializer):
        method = serializers.ChoiceField(choices=Payment.Method.choices)
        status = serializers.ChoiceField(choices=Payment.Status.choices)
        card_brand = serializers.CharField(allow_null=True)
        card_last4 = serializers.CharField(allow_null=True)
        failure_reason = serializers.CharField(allow_null=True)

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    items = Item(many=True, source="items.all")
    subtotal = serializers.IntegerField()
    discount = serializers.IntegerField()
    total = serializers.IntegerField()
    currency = CurrencyField()
    user_coupon_id = serializers.IntegerField(allow_null=True)
    payment = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(PaymentOutput)
    def get_payment(self, order) -> dict:
        return self.PaymentOutput(selectors.payment_of(order)).data


class OrderPageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderOutput(many=True)


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="At most 255 characters. The same key and body within 24 h replays the first response.",
)


class OrderListCreateApi(APIView):
    class Input(serializers.Serializer):
        class Line(serializers.Serializer):
            product_id = id_field()
            quantity = quantity_field()

        items = serializers.ListField(child=Line(), required=False, allow_empty=False, min_length=1, max_length=settings.ORDER_MAX_LINES)
        from_cart = serializers.BooleanField(required=False, default=False)
        user_coupon_id = id_field(required=False, allow_null=True, default=None)
        payment_method = serializers.ChoiceField(choices=Order.PaymentMethod.choices, default=Order.PaymentMethod.WALLET)

        class Card(serializers.Serializer):
            number = serializers.CharField(max_length=40, help_text="13 to 19 digits, spaces or dashes allowed, Luhn-valid. Never stored.")

        card = Card(required=False, help_text='Required when payment_method is "card".')

        def validate(self, attrs):
            if attrs["from_cart"] and "items" in attrs:
                raise serializers.ValidationError({"items": ["Send either items or from_cart, not both."]})
            if not attrs["from_cart"] and "items" not in attrs:
                raise serializers.ValidationError({"items": ["This field is required."]})
            if attrs["payment_method"] == Order.PaymentMethod.CARD and "card" not in attrs:
                raise serializers.ValidationError({"card": ["Enter the card number to pay by card."]})
            return attrs

    @extend_schema(
        operation_id="orders_list",
        parameters=PAGE_QUERY_PARAMETERS,
        responses={200: OrderPageOutput, **error_responses(400, 401, 404)},
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.orders_for_user(user=request.user), request, view=self)
        return paginator.get_paginated_response(OrderOutput(page, many=True).data)

    @extend_schema(
        operation_id="orders_create",
        request=Input,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: OrderOutput,
            **error_responses(
                400,
                401,
                404,
                409,
                422,
                503,
                s503="PAYMENT_UNAVAILABLE (with Retry-After): the payment gateway is down; nothing was created.",
                s404="NOT_FOUND: user_coupon_id is not one of your coupons.",
                s409="OUT_OF_STOCK (details: product_id, requested, available), INSUFFICIENT_BALANCE (details: balance, required), "
                "IDEMPOTENCY_IN_PROGRESS or CONCURRENT_UPDATE.",
                s422="COUPON_NOT_APPLICABLE, PRODUCT_UNAVAILABLE (details: product_id) or IDEMPOTENCY_KEY_REUSED.",
            ),
        },
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        lines = fields.get("items")
        if lines and not may_replay(user=request.user, key=request.headers.get(HEADER)):
            # A sold-out product is refused from memory, before any transaction (apps.catalog.stock_gate).
            requested: dict[int, int] = {}
            for line in lines:
                requested[line["product_id"]] = requested.get(line["product_id"], 0) + line["quantity"]
            stock_gate.refuse_sold_out(requested, requested=requested)
        return self._create(request, fields)

    @idempotent
    def _create(self, request, fields):
        lines = fields.get("items")
        order = services.place_order(
            user=request.user,
            lines=None if lines is None else [services.OrderLine(**line) for line in lines],
            from_cart=fields["from_cart"],
            user_coupon_id=fields["user_coupon_id"],
            payment_method=fields["payment_method"],
            card_number=fields["card"]["number"] if fields["payment_method"] == Order.PaymentMethod.CARD else None,
        )
        return Response(OrderOutput(order).data, status=status.HTTP_201_CREATED)


class OrderDetailApi(APIView):
    @extend_schema(operation_id="orders_retrieve", responses={200: OrderOutput, **error_responses(401, 404)})
    def get(self, request, order_id: int):
        return Response(OrderOutput(selectors.get_order_for_user(user=request.user, order_id=order_id)).data)


class OrderCancelApi(APIView):
    @extend_schema(
        operation_id="orders_cancel",
        request=None,
        responses={200: OrderOutput, **error_responses(401, 404, 409, s409="ORDER_NOT_CANCELLABLE (or CONCURRENT_UPDATE).")},
    )
    def post(self, request, order_id: int):
        order = services.cancel_order(user=request.user, order_id=order_id, actor=request.user)
        return Response(OrderOutput(order).data)
