from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from apps.core.errors import DomainError
from apps.core.money import format_money
from apps.orders import services
from apps.orders.models import Order, OrderItem
from apps.outbox.models import OutboxEvent
from apps.payments.admin import CHANGE_PERMISSION as PAYMENT_CHANGE_PERMISSION
from apps.payments.admin import PaymentInline, ask_gateway_about, refund_stuck
from apps.payments.models import Payment


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    fields = ["product", "product_name", "unit_price", "quantity", "line_total"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def event_summary(event: OutboxEvent) -> str:
    """One line from an order or payment event's data: what the staff member needs at a glance."""
    data = event.payload or {}
    parts = []
    if "status" in data:
        parts.append(Order.Status(data["status"]).label if data["status"] in Order.Status.values else str(data["status"]))
    if "total" in data:
        parts.append(format_money(data["total"]))
    if "amount" in data:
        parts.append(format_money(data["amount"]))
    if data.get("payment_method") or data.get("method"):
        parts.append(f"by {data.get('payment_method') or data.get('method')}")
    if data.get("failure_reason"):
        parts.append(f"reason: {data['failure_reason']}")
    if data.get("cancelled_by"):
        parts.append(f"cancelled by user #{data['cancelled_by']}")
    if data.get("transaction_key"):
        parts.append(f"transaction {data['transaction_key']}")
    return " · ".join(parts)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are read-only here: money and status change only through the order and payment services."""

    list_display = ["id", "user", "status", "payment_method", "total_display", "created_at", "paid_at", "cancelled_at"]
    list_filter = ["status", "payment_method", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    ordering = ["-created_at", "-id"]
    inlines = [PaymentInline, OrderItemInline]
    actions = ["cancel_and_refund", "ask_pg_now", "refund_now"]
    fields = [
        "user", "status", "payment_method", "subtotal", "discount", "total", "user_coupon",
        "created_at", "expires_at", "paid_at", "cancelled_at", "updated_at", "timeline",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_ask_gateway_permission(self, request) -> bool:
        return request.user.has_perm(PAYMENT_CHANGE_PERMISSION)

    @admin.display(description="Total", ordering="total")
    def total_display(self, obj: Order) -> str:
        return format_money(obj.total)

    @admin.display(description="Timeline")
    def timeline(self, obj: Order) -> str:
        """The order's events in the order they were written (one aggregate's events keep their order by id)."""
        events = OutboxEvent.objects.filter(aggregate_type="orders.order", aggregate_id=str(obj.pk)).order_by("id")
        if not events:
            return "No events."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((event.created_at.strftime("%Y-%m-%d %H:%M:%S"), event.type, event_summary(event), event.get_status_display()) for event in events),
        )
        return format_html(
            '<table class="order-timeline"><thead><tr><th>When (UTC)</th><th>Event</th><th>Summary</th><th>Delivery</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.action(description="Cancel and refund selected orders", permissions=["change"])
    def cancel_and_refund(self, request, queryset):
        cancelled, failed = [], []
        for order in queryset.select_related("user").order_by("pk"):
            try:
                services.cancel_order(user=order.user, order_id=order.pk, actor=request.user)
            except DomainError as exc:
                failed.append(f"#{order.pk}: {exc.message}")
            else:
                cancelled.append(f"#{order.pk}")
        if cancelled:
            self.message_user(request, f"Cancelled and refunded: {', '.join(cancelled)}.", messages.SUCCESS)
        if failed:
            self.message_user(request, f"Not cancelled: {'; '.join(failed)}", messages.ERROR)

    @admin.action(description="Ask the PG now about selected orders' pending card payments", permissions=["ask_gateway"])
    def ask_pg_now(self, request, queryset):
        ask_gateway_about(self, request, Payment.objects.filter(order__in=queryset, method=Payment.Method.CARD).order_by("pk"))

    @admin.action(description="Refund now: selected card orders whose refund is stuck", permissions=["ask_gateway"])
    def refund_now(self, request, queryset):
        refund_stuck(self, request, Payment.objects.filter(order__in=queryset, method=Payment.Method.CARD).order_by("pk"))
