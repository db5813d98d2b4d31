from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import CurrencyField, LiveRateUserThrottle, StrictIntegerField
from apps.core.schema import error_responses
from apps.coupons import selectors, services
from apps.coupons.services import MAX_COUPON_AMOUNT, MAX_COUPON_QUANTITY, MAX_VALID_DAYS


class CouponIssueThrottle(LiveRateUserThrottle):
    scope = "coupon_issue"



class CouponOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    discount_type = serializers.CharField(help_text='"fixed" (minor units off) or "percent".')
    discount_value = serializers.IntegerField()
    max_discount = serializers.IntegerField(allow_null=True, help_text="Cap of a percent discount, minor units.")
    min_order_amount = serializers.IntegerField(help_text="Smallest subtotal the coupon applies to, minor units.")
    total_quantity = serializers.IntegerField()
    issued_quantity = serializers.IntegerField()
    remaining = serializers.IntegerField()
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    currency = CurrencyField()


class UserCouponOutput(serializers.Serializer):
    id = serializers.IntegerField()
    coupon = CouponOutput()
    status = serializers.SerializerMethodField(help_text='"available", "used" or "expired" (past expires_at and unused reads as expired).')
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_order_id = serializers.IntegerField(allow_null=True)

    def get_status(self, obj) -> str:
        return getattr(obj, "effective_status", obj.status)


class CouponListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="coupons_list", responses={200: CouponOutput(many=True)})
    def get(self, request):
        return Response(CouponOutput(selectors.open_coupons(), many=True).data)


class CouponIssueApi(APIView):
    throttle_classes = [CouponIssueThrottle]

    @extend_schema(
        operation_id="coupons_issue",
        request=None,
        responses={
            201: UserCouponOutput,
            **error_responses(
                401,
                404,
                409,
                422,
                429,
                s409="COUPON_SOLD_OUT or COUPON_ALREADY_ISSUED.",
                s422="COUPON_NOT_ACTIVE: the campaign has not started or has ended.",
            ),
        },
    )
    def post(self, request, coupon_id: int):
        user_coupon = services.issue_coupon(user=request.user, coupon_id=coupon_id)
        return Response(UserCouponOutput(user_coupon).data, status=status.HTTP_201_CREATED)


class MyCouponListApi(APIView):
    @extend_schema(operation_id="me_coupons_list", responses={200: UserCouponOutput(many=True), **error_responses(401)})
    def get(self, request):
        return Response(UserCouponOutput(selectors.user_coupons(user=request.user), many=True).data)


class StaffCouponCreateApi(APIView):
    permission_classes = [IsAdminUser]

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        discount_type = serializers.ChoiceField(choices=["fixed", "percent"])
        discount_value = StrictIntegerField(min_value=1, max_value=MAX_COUPON_AMOUNT, help_text="percent: 1..100; fixed: minor units, at least 1.")
        max_discount = StrictIntegerField(min_value=1, max_value=MAX_COUPON_AMOUNT, required=False, allow_null=True)
        min_order_amount = StrictIntegerField(min_value=0, max_value=MAX_COUPON_AMOUNT, required=False, default=0)
        total_quantity = StrictIntegerField(min_value=1, max_value=MAX_COUPON_QUANTITY)
        starts_at = serializers.DateTimeField(required=False, allow_null=True)
        ends_at = serializers.DateTimeField(required=False, allow_null=True)
        valid_days = StrictIntegerField(
            min_value=1, max_value=MAX_VALID_DAYS, required=False, help_text="How long an issued coupon stays usable; default 30."
        )

    @extend_schema(
        operation_id="staff_coupons_create",
        request=Input,
        responses={201: OpenApiResponse(CouponOutput), **error_responses(400, 401, 403)},
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        coupon = services.create_coupon(**data.validated_data)
        return Response(CouponOutput(coupon).data, status=status.HTTP_201_CREATED)
