from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class CouponQuerySet(models.QuerySet):
    def open(self, now=None):
        """Campaigns open at `now`: started (or no start) and not ended (or no end)."""
        now = now or timezone.now()
        return self.filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now), Q(ends_at__isnull=True) | Q(ends_at__gt=now))


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

    objects = CouponQuerySet.as_manager()

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

    def is_open(self, now=None) -> bool:
        """The same rule as CouponQuerySet.open, for one campaign in hand."""
        now = now or timezone.now()
        return (self.starts_at is None or self.starts_at <= now) and (self.ends_at is None or now < self.ends_at)


class UserCouponQuerySet(models.QuerySet):
    def usable(self, now=None):
        """Coupons that can pay for an order at `now`: available and not past their expiry."""
        return self.filter(status=UserCoupon.Status.AVAILABLE, expires_at__gt=now or timezone.now())

    def past_expiry(self, now=None):
        """Available coupons whose expiry has passed (the periodic task marks them expired)."""
        return self.filter(past_expiry_condition(now))


def past_expiry_condition(now=None) -> Q:
    """An available coupon past its expiry: it reads as expired whether or not the periodic task has marked it yet."""
    return Q(status=UserCoupon.Status.AVAILABLE, expires_at__lte=now or timezone.now())


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

    objects = UserCouponQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "coupon"], name="coupons_one_per_user")]
        indexes = [models.Index(fields=["user", "status", "expires_at"], name="usercoupon_user_status")]

    def __str__(self) -> str:
        return f"{self.coupon} for {self.user}"

    def has_expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())

    def is_usable(self, now=None) -> bool:
        """The same rule as UserCouponQuerySet.usable, for one coupon in hand."""
        return self.status == self.Status.AVAILABLE and not self.has_expired(now)
