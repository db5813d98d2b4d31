"""Row locks for coupons: the only place that builds select_for_update querysets (ordered by pk, evaluated at once)."""

from apps.coupons.models import UserCoupon


def lock_user_coupon(*, user, user_coupon_id: int) -> UserCoupon | None:
    """Lock one of the user's coupons (None when it is not theirs). Another user's row is never locked."""
    rows = list(UserCoupon.objects.select_for_update().filter(pk=user_coupon_id, user=user).order_by("pk"))
    return rows[0] if rows else None
