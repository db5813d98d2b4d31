from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import CurrencyField, LiveRateUserThrottle, StrictIntegerField
from apps.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from apps.core.idempotency import REPLAY_HEADER, idempotent
from apps.core.schema import error_responses
from apps.wallets import selectors, services


class WalletChargeThrottle(LiveRateUserThrottle):
    scope = "wallet_charge"



class CurrencyMixin(serializers.Serializer):
    currency = CurrencyField()


class TransactionOutput(CurrencyMixin):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.IntegerField(help_text="Signed, minor units: positive adds to the balance.")
    balance_after = serializers.IntegerField()
    order_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class WalletOutput(CurrencyMixin):
    balance = serializers.IntegerField(help_text="Minor units.")


class WalletApi(APIView):
    @extend_schema(operation_id="wallet_retrieve", responses={200: WalletOutput, **error_responses(401)})
    def get(self, request):
        return Response(WalletOutput({"balance": selectors.wallet_balance(user=request.user)}).data)


class WalletChargeApi(APIView):
    throttle_classes = [WalletChargeThrottle]

    class Input(serializers.Serializer):
        amount = StrictIntegerField(
            min_value=1,
            max_value=settings.WALLET_MAX_CHARGE,
            help_text="Minor units, 1..WALLET_MAX_CHARGE; the balance may not exceed WALLET_MAX_BALANCE.",
        )

    class Output(CurrencyMixin):
        balance = serializers.IntegerField()
        transaction = TransactionOutput()

    @extend_schema(
        operation_id="wallet_charge",
        request=Input,
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, description="At most 255 characters; see API.md.")],
        responses={
            200: OpenApiResponse(Output, description=f"Charged (or replayed, with header `{REPLAY_HEADER}: true`)."),
            **error_responses(
                400,
                401,
                409,
                422,
                429,
                s409="IDEMPOTENCY_IN_PROGRESS or CONCURRENT_UPDATE (retries exhausted; nothing changed).",
                s422="IDEMPOTENCY_KEY_REUSED: the key was used with a different body.",
            ),
        },
    )
    @idempotent
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        txn = services.charge_wallet(user=request.user, amount=data.validated_data["amount"])
        return Response(self.Output({"balance": txn.wallet.balance, "transaction": txn}).data)


@extend_schema_view(get=extend_schema(operation_id="wallet_transactions_list", responses={200: TransactionOutput(many=True), **error_responses(400, 401, 404)}))
class WalletTransactionsApi(ListAPIView):
    """The user's ledger, newest first, paginated (the default PageNumberPagination)."""

    serializer_class = TransactionOutput

    def get_queryset(self):
        return selectors.wallet_transactions(user=self.request.user)
