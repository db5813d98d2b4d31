from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Coupon(models.Model):
    """A campaign: `total_quantity` coupons handed out first come, first served."""

    class DiscountType(models.TextChoices):
        FIXED = "fixed", "Fixed amount"
        PERCENT = "percent", "Percent"

    name = models.CharField(max_length=200)
    discount_type = models.CharField(max_length=10, choices=DiscountType.choices)
    discount_value = models.PositiveIntegerField()
    max_discount = models.PositiveIntegerField(null=True, blank=True)
    min_order_amount = models.PositiveIntegerField(default=0)
    total_quantity = models.PositiveIntegerField()
    issued_quantity = models.PositiveIntegerField(default=0)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    valid_days = models.PositiveIntegerField(default=30)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(issued_quantity__lte=F("total_quantity")), name="coupons_coupon_not_over_issued"),
            models.CheckConstraint(
                condition=~Q(discount_type="percent") | Q(discount_value__lte=100), name="coupons_coupon_percent_at_most_100"
            ),
        ]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="coupon_window")]

    def __str__(self) -> str:
        return self.name

    @property
    def remaining(self) -> int:
        return self.total_quantity - self.issued_quantity


class UserCoupon(models.Model):
    """One coupon of a campaign, issued to one user; at most one per (user, campaign)."""

    class Status(models.TextChoices):
        AVAILABLE = "available", "Available"
        USED = "used", "Used"
        EXPIRED = "expired", "Expired"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coupons")
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="issued")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AVAILABLE)
    # Set by issue_coupon from the same instant as expires_at.
    issued_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    used_order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "coupon"], name="coupons_one_per_user")]
        indexes = [models.Index(fields=["user", "status", "expires_at"], name="usercoupon_user_status")]

    def __str__(self) -> str:
        return f"{self.coupon} for {self.user}"
