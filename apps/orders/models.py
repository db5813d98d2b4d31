from django.conf import settings
from django.db import models
from django.db.models import Q


class Order(models.Model):
    """A purchase; money fields are minor units snapshotted at checkout.

    A wallet order is paid at once. A card order starts `pending_payment`, holding its stock and
    coupon until `expires_at`, and ends paid, payment_failed or expired (apps.orders.services holds
    every transition; TRANSITIONS lists them).
    """

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Awaiting payment"
        PAID = "paid", "Paid"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    class PaymentMethod(models.TextChoices):
        WALLET = "wallet", "Wallet"
        CARD = "card", "Card"

    # API.md: pending_payment → paid | payment_failed | expired | cancelled; paid → cancelled.
    TRANSITIONS = {
        Status.PENDING_PAYMENT: {Status.PAID, Status.PAYMENT_FAILED, Status.EXPIRED, Status.CANCELLED},
        Status.PAID: {Status.CANCELLED},
    }
    # The statuses whose order holds stock and coupon (a paid order keeps them for good).
    HOLDING = frozenset({Status.PENDING_PAYMENT, Status.PAID})

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PAID)
    payment_method = models.CharField(max_length=12, choices=PaymentMethod.choices, default=PaymentMethod.WALLET)
    subtotal = models.BigIntegerField()
    discount = models.BigIntegerField(default=0)
    total = models.BigIntegerField()
    user_coupon = models.ForeignKey("coupons.UserCoupon", null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="A card order not paid by then is expired.")
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
            models.Index(fields=["status", "expires_at"], name="order_status_expiry"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    @property
    def is_cancellable(self) -> bool:
        return self.Status.CANCELLED in self.TRANSITIONS.get(self.status, ())


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
