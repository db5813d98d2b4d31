"""Staff screens for payments: read-only records, and two actions that go through the payment services.

"Ask the PG now" queries the gateway about pending card payments and applies its answer exactly as
the callback would (apps.payments.reconciliation.ask_gateway_now); "Refund now" retries a stuck
refund (apps.payments.reconciliation.refund_payment). Both call the gateway from the admin request,
with no transaction open, like the beat jobs they stand in for.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin, moment_column
from apps.core.errors import PaymentUnavailable
from apps.core.money import format_money
from apps.payments import gateway, reconciliation
from apps.payments.models import Payment

CHANGE_PERMISSION = "payments.change_payment"

_ANSWERS = {
    "approved": ("the PG approved it: the order is paid.", messages.SUCCESS),
    "declined": ("the PG declined it: the order's payment failed and its items are back on sale.", messages.WARNING),
    "pending": ("the PG has not decided yet; the reconciler keeps asking.", messages.INFO),
    "refunded": ("the PG reports it refunded.", messages.INFO),
    "not_pending": ("not pending any more; nothing to ask.", messages.INFO),
    "not_requested": ("the PG has not accepted the payment request yet; nothing to ask.", messages.INFO),
}
_REFUNDS = {
    "refunded": ("refunded at the PG.", messages.SUCCESS),
    "retry": ("the PG could not be reached; the refund is tried again automatically.", messages.WARNING),
}


def _payment_label(payment: Payment) -> str:
    return f"Payment #{payment.pk} (order #{payment.order_id})"


def ask_gateway_about(modeladmin: admin.ModelAdmin, request, payments) -> None:
    """Ask the gateway about each payment; stop at once when its breaker says it is down."""
    for payment in payments:
        try:
            answer = reconciliation.ask_gateway_now(payment_id=payment.pk)
        except PaymentUnavailable as exc:
            modeladmin.message_user(
                request, f"The PG is unavailable (its circuit breaker is open): ask again in {exc.retry_after} seconds.", messages.ERROR
            )
            return
        except gateway.GatewayError as exc:
            modeladmin.message_user(request, f"{_payment_label(payment)}: the PG could not answer ({type(exc).__name__}).", messages.ERROR)
            continue
        text, level = _ANSWERS.get(answer, (f"the PG answered {answer}.", messages.INFO))
        modeladmin.message_user(request, f"{_payment_label(payment)}: {text}", level)


def refund_stuck(modeladmin: admin.ModelAdmin, request, payments) -> None:
    """Try the refund of each payment waiting for one (a cancelled card order, or an approval that came too late)."""
    for payment in payments:
        if payment.status != Payment.Status.REFUND_PENDING:
            modeladmin.message_user(
                request, f"{_payment_label(payment)}: not waiting for a refund ({payment.get_status_display().lower()}); left alone.", messages.INFO
            )
            continue
        outcome = reconciliation.refund_payment(payment_id=payment.pk)
        text, level = _REFUNDS.get(outcome, (f"{outcome}.", messages.INFO))
        modeladmin.message_user(request, f"{_payment_label(payment)}: {text}", level)


class PaymentFieldsMixin:
    """The displays shared by the payment list, its page and the inline on the order."""

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: Payment) -> str:
        return format_money(obj.amount)

    @admin.display(description="Card")
    def card(self, obj: Payment) -> str:
        if not obj.card_last4:
            return "—"
        return f"{(obj.card_brand or 'card').title()} •••• {obj.card_last4}"


class PaymentInline(ReadOnlyAdminMixin, PaymentFieldsMixin, admin.StackedInline):
    """The order's payment on the order page, read-only."""

    model = Payment
    fields = [
        "method", "status", "amount_display", "card", "transaction_key", "failure_reason",
        "attempts", "next_attempt_at", "requested_at", "created_at", "updated_at",
    ]
    readonly_fields = fields
    extra = 0
    max_num = 1


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, PaymentFieldsMixin, admin.ModelAdmin):
    """Read-only: payments change only through the order state machine and the payment services."""

    # Fits 1366 px beside the filters; the attempts are on the payment's page.
    list_display = ["id", "order_link", "method", "status", "amount_display", "card", "transaction", "updated"]
    list_filter = ["status", "method"]
    search_fields = ["=order__id", "=transaction_key"]
    list_select_related = ["order"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    actions = ["ask_pg_now", "refund_now"]
    fields = [
        "order_link", "method", "status", "amount_display", "card", "transaction_key", "failure_reason",
        "attempts", "next_attempt_at", "requested_at", "created_at", "updated_at",
    ]
    readonly_fields = fields

    updated = moment_column("updated_at", "Updated")

    def has_ask_gateway_permission(self, request) -> bool:
        return request.user.has_perm(CHANGE_PERMISSION)

    @admin.display(description="Transaction", ordering="transaction_key")
    def transaction(self, obj: Payment) -> str:
        """The key's start; the whole key is in the tooltip, on the payment's page and searchable."""
        if not obj.transaction_key:
            return "—"
        return format_html('<span title="{}">{}…</span>', obj.transaction_key, obj.transaction_key[:10])

    @admin.display(description="Order", ordering="order_id")
    def order_link(self, obj: Payment) -> str:
        return format_html('<a href="{}">Order #{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]), obj.order_id)

    @admin.action(description="Ask the PG now about selected pending card payments", permissions=["ask_gateway"])
    def ask_pg_now(self, request, queryset):
        ask_gateway_about(self, request, queryset.order_by("pk"))

    @admin.action(description="Refund now: selected payments whose refund is stuck", permissions=["ask_gateway"])
    def refund_now(self, request, queryset):
        refund_stuck(self, request, queryset.order_by("pk"))
