from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.core.admin import moment_column
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
    fields = ["product", "product_name", "unit_price_display", "quantity", "line_total_display"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="Unit price")
    def unit_price_display(self, obj: OrderItem) -> str:
        return format_money(obj.unit_price)

    @admin.display(description="Line total")
    def line_total_display(self, obj: OrderItem) -> str:
        return format_money(obj.line_total)

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

    list_display = ["id", "user", "status", "method", "total_display", "created", "paid"]
    list_filter = ["status", "payment_method", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    ordering = ["-created_at", "-id"]
    inlines = [PaymentInline, OrderItemInline]
    actions = ["cancel_and_refund", "ask_pg_now", "refund_now"]
    fields = [
        "user", "status", "payment_method", "subtotal_display", "discount_display", "total_display", "user_coupon",
        "created_at", "expires_at", "paid_at", "cancelled_at", "updated_at", "timeline",
    ]
    readonly_fields = fields
    change_form_template = "admin/orders/order/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_ask_gateway_permission(self, request) -> bool:
        return request.user.has_perm(PAYMENT_CHANGE_PERMISSION)

    created = moment_column("created_at", "Created")

    @admin.display(description="Method", ordering="payment_method")
    def method(self, obj: Order) -> str:
        return obj.get_payment_method_display()

    paid = moment_column("paid_at", "Paid")

    @admin.display(description="Subtotal")
    def subtotal_display(self, obj: Order) -> str:
        return format_money(obj.subtotal)

    @admin.display(description="Discount")
    def discount_display(self, obj: Order) -> str:
        return format_money(-obj.discount) if obj.discount else format_money(0)

    @admin.display(description="Total", ordering="total")
    def total_display(self, obj: Order) -> str:
        return format_money(obj.total)

    def get_urls(self):
        return [
            path("<int:order_id>/cancel/", self.admin_site.admin_view(self.cancel_view), name="orders_order_cancel"),
            path("<int:order_id>/refund/", self.admin_site.admin_view(self.refund_view), name="orders_order_refund"),
            *super().get_urls(),
        ]

    def _stuck_refund(self, order: Order) -> Payment | None:
        """The card payment of a cancelled order whose refund has not gone through yet."""
        payment = Payment.objects.filter(order=order, method=Payment.Method.CARD).first()
        return payment if payment and payment.status == Payment.Status.REFUND_PENDING else None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        buttons = {}
        if order is not None:
            buttons = {
                "can_cancel": order.is_cancellable and self.has_change_permission(request, order),
                "can_refund": self._stuck_refund(order) is not None and self.has_ask_gateway_permission(request),
            }
        return super().change_view(request, object_id, form_url, extra_context={**(extra_context or {}), **buttons})

    def _confirm(self, request, order: Order, *, action: str, title: str, consequences: list[str], button: str):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "order": order,
            "action": action,
            "consequences": consequences,
            "button": button,
        }
        return TemplateResponse(request, "admin/orders/order/confirm_action.html", context)

    def cancel_view(self, request, order_id: int):
        """GET asks for confirmation; POST cancels through services.cancel_order (stock, coupon and money back)."""
        order = get_object_or_404(Order.objects.select_related("user"), pk=order_id)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        if request.method != "POST":
            if order.payment_method == Order.PaymentMethod.WALLET:
                money_back = f"{format_money(order.total)} goes back to the shopper's wallet at once."
            elif order.status == Order.Status.PAID:
                money_back = f"{format_money(order.total)} is refunded to the shopper's card through the payment gateway."
            else:
                money_back = "The pending card payment is voided; nothing has been charged."
            return self._confirm(
                request, order, action="cancel", title=f"Cancel order #{order.pk}?",
                consequences=["Its items go back on sale and its coupon back to the shopper.", money_back, "The shopper is told by e-mail."],
                button=f"Yes, cancel order #{order.pk}",
            )
        try:
            services.cancel_order(user=order.user, order_id=order.pk, actor=request.user)
        except DomainError as exc:
            self.message_user(request, f"Order #{order.pk} was not cancelled: {exc.message}", messages.ERROR)
        else:
            self.log_change(request, order, "Cancelled from the order page.")
            self.message_user(request, f"Order #{order.pk} is cancelled; {format_money(order.total)} is being returned.", messages.SUCCESS)
        return redirect(change_url)

    def refund_view(self, request, order_id: int):
        """GET asks for confirmation; POST retries the stuck card refund (reconciliation.refund_payment)."""
        order = get_object_or_404(Order.objects.select_related("user"), pk=order_id)
        if not self.has_ask_gateway_permission(request):
            raise PermissionDenied
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        payment = self._stuck_refund(order)
        if payment is None:
            self.message_user(request, f"Order #{order.pk} has no card refund waiting.", messages.INFO)
            return redirect(change_url)
        if request.method != "POST":
            return self._confirm(
                request, order, action="refund", title=f"Refund order #{order.pk} now?",
                consequences=[f"The payment gateway is asked now to refund {format_money(payment.amount)} to the shopper's card.",
                              "If it cannot be reached, the refund is tried again automatically."],
                button=f"Yes, refund {format_money(payment.amount)}",
            )
        refund_stuck(self, request, [payment])
        return redirect(change_url)

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
