"""The payment gateway's callback (API.md, Card payments): signed, idempotent, no user auth."""

import json

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import InvalidSignature, ValidationError
from apps.core.schema import error_responses
from apps.orders.services import record_payment_outcome
from apps.payments import gateway

SIGNATURE = OpenApiParameter(
    gateway.SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True, description="sha256=<hex HMAC-SHA256 of the body with PG_SECRET>"
)


class CallbackApi(APIView):
    """The PG reports a payment's outcome. The signature is checked on the raw body before anything is parsed."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    class Input(serializers.Serializer):
        transaction_key = serializers.CharField(max_length=64)
        order_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
        status = serializers.ChoiceField(choices=["approved", "declined"])
        reason = serializers.CharField(max_length=64, allow_null=True, required=False, default=None)

    class Output(serializers.Serializer):
        order_id = serializers.IntegerField()
        status = serializers.CharField(help_text="The order's status after the callback.")

    @extend_schema(
        operation_id="payments_callback",
        request=Input,
        parameters=[SIGNATURE],
        responses={200: Output, **error_responses(400, 401, 404, s401="INVALID_SIGNATURE", s404="NOT_FOUND: unknown order or transaction.")},
        auth=[],
    )
    def post(self, request):
        body = request.body
        if not gateway.verify_signature(body, request.headers.get(gateway.SIGNATURE_HEADER)):
            raise InvalidSignature()
        try:
            payload = json.loads(body)
        except ValueError:
            raise ValidationError(details={"body": ["The body is not valid JSON."]}) from None
        data = self.Input(data=payload)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        order = record_payment_outcome(
            order_id=fields["order_id"],
            transaction_key=fields["transaction_key"],
            approved=fields["status"] == "approved",
            reason=fields["reason"],
        )
        return Response(self.Output({"order_id": order.pk, "status": order.status}).data)
