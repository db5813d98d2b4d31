from django.conf import settings
from django.db import models
from django.db.models import Q


class Order(models.Model):
    """A purchase paid from the wallet; money fields are minor units snapshotted at checkout."""

    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    class PaymentMethod(models.TextChoices):
        WALLET = "wallet", "Wallet"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PAID)
    payment_method = models.CharField(max_length=12, choices=PaymentMethod.choices, default=PaymentMethod.WALLET)
    subtotal = models.BigIntegerField()
    discount = models.BigIntegerField(default=0)
    total = models.BigIntegerField()
    user_coupon = models.ForeignKey("coupons.UserCoupon", null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="orders_order_total_non_negative"),
            models.CheckConstraint(condition=Q(discount__gte=0) & Q(discount__lte=models.F("subtotal")), name="orders_order_discount_within_subtotal"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="order_user_newest"),
            models.Index(fields=["status", "created_at"], name="order_status_created"),
            models.Index(fields=["updated_at", "id"], name="order_changed"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    product_name = models.CharField(max_length=200)
    unit_price = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField()
    line_total = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_item_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"
