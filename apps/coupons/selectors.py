"""Coupon reads. An available coupon past its expiry reads as expired, whether or not the periodic task has marked it yet."""

from collections.abc import Iterable

from django.db.models import Case, CharField, F, QuerySet, Value, When

from apps.coupons.models import Coupon, UserCoupon, past_expiry_condition
from apps.coupons.services import calculate_discount


def open_coupons() -> QuerySet[Coupon]:
    """Campaigns open now (started, not ended), sold out or not; `remaining` is a property of Coupon."""
    return Coupon.objects.open()


def with_effective_status(queryset: QuerySet[UserCoupon]) -> QuerySet[UserCoupon]:
    """Annotate `effective_status`: the status to show, "expired" once an unused coupon is past expires_at."""
    return queryset.annotate(
        effective_status=Case(
            When(past_expiry_condition(), then=Value(UserCoupon.Status.EXPIRED.value)),
            default=F("status"),
            output_field=CharField(),
        )
    )


def user_coupons(*, user) -> QuerySet[UserCoupon]:
    """The user's coupons, newest first, with `effective_status` (what API and pages show as status)."""
    return with_effective_status(UserCoupon.objects.filter(user=user).select_related("coupon"))


def held_coupon_ids(*, user, coupon_ids: Iterable[int]) -> set[int]:
    """Which of these campaigns the user already holds a coupon of."""
    if not user.is_authenticated:
        return set()
    return set(UserCoupon.objects.filter(user=user, coupon_id__in=list(coupon_ids)).values_list("coupon_id", flat=True))


def applicable_coupons(*, user, subtotal: int) -> list[tuple[UserCoupon, int]]:
    """The user's coupons usable on this subtotal with their discount, biggest discount first (checkout page)."""
    candidates = (
        UserCoupon.objects.usable()
        .filter(user=user, coupon__min_order_amount__lte=subtotal)
        .select_related("coupon")
        .order_by("expires_at", "id")
    )
    pairs = [(user_coupon, calculate_discount(coupon=user_coupon.coupon, subtotal=subtotal)) for user_coupon in candidates]
    return sorted(pairs, key=lambda pair: -pair[1])
