from django.contrib import admin, messages

from apps.core.errors import DomainError
from apps.core.money import format_money
from apps.orders import services
from apps.orders.models import Order, OrderItem


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


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are read-only here: money and status change only through the order services."""

    list_display = ["id", "user", "status", "total_display", "created_at", "paid_at", "cancelled_at"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    ordering = ["-created_at", "-id"]
    inlines = [OrderItemInline]
    actions = ["cancel_and_refund"]
    fields = [
        "user", "status", "payment_method", "subtotal", "discount", "total", "user_coupon",
        "created_at", "paid_at", "cancelled_at", "updated_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Total", ordering="total")
    def total_display(self, obj: Order) -> str:
        return format_money(obj.total)

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
