"""Coupon writes: campaigns, first-come issuing, and applying a coupon to an order."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.errors import CouponAlreadyIssued, CouponNotActive, CouponNotApplicable, CouponSoldOut, NotFound, ValidationError
from apps.core.validation import MAX_INT32, require_whole_number
from apps.coupons import campaigns, gate, locks
from apps.coupons.models import Coupon, UserCoupon
from apps.outbox.services import publish

# An issued coupon's lifetime: long enough for any campaign, short enough that issued_at + valid_days
# is a date (3,000,000 days is past the year 9999 and made every claim fail).
MAX_VALID_DAYS = 3650
# Amounts and counts are stored in 32-bit integer columns.
MAX_COUPON_AMOUNT = MAX_INT32
MAX_COUPON_QUANTITY = MAX_INT32


def validate_coupon_terms(
    *,
    discount_type: str,
    discount_value: int,
    max_discount: int | None,
    total_quantity: int,
    starts_at: datetime | None,
    ends_at: datetime | None,
    valid_days: int,
    min_order_amount: int = 0,
) -> None:
    """The rules a campaign's terms must follow; raises ValidationError with field → messages."""
    errors: dict[str, list[str]] = {}

    def check(field: str, value, minimum: int, maximum: int, message: str) -> None:
        try:
            require_whole_number(value, field=field, minimum=minimum, maximum=maximum, message=message)
        except ValidationError as exc:
            errors.update(exc.details)

    if discount_type not in Coupon.DiscountType.values:
        errors["discount_type"] = ['Choose "fixed" or "percent".']
    elif discount_type == Coupon.DiscountType.PERCENT:
        check("discount_value", discount_value, 1, 100, "A percent discount must be between 1 and 100.")
    else:
        check("discount_value", discount_value, 1, MAX_COUPON_AMOUNT, f"A fixed discount must be from 1 to {MAX_COUPON_AMOUNT} minor units.")
    if max_discount is not None:
        check("max_discount", max_discount, 1, MAX_COUPON_AMOUNT, f"The maximum discount must be from 1 to {MAX_COUPON_AMOUNT} minor units.")
    check("min_order_amount", min_order_amount, 0, MAX_COUPON_AMOUNT, f"The minimum order amount must be from 0 to {MAX_COUPON_AMOUNT} minor units.")
    check("total_quantity", total_quantity, 1, MAX_COUPON_QUANTITY, f"From 1 to {MAX_COUPON_QUANTITY} coupons must be issuable.")
    check("valid_days", valid_days, 1, MAX_VALID_DAYS, f"An issued coupon must stay valid from 1 to {MAX_VALID_DAYS} days.")
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = ["The campaign must end after it starts."]
    if errors:
        raise ValidationError(details=errors)


def create_coupon(
    *,
    name: str,
    discount_type: str,
    discount_value: int,
    total_quantity: int,
    max_discount: int | None = None,
    min_order_amount: int = 0,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    valid_days: int | None = None,
) -> Coupon:
    """A new campaign (staff)."""
    if valid_days is None:
        valid_days = settings.COUPON_DEFAULT_VALID_DAYS
    validate_coupon_terms(
        discount_type=discount_type,
        discount_value=discount_value,
        max_discount=max_discount,
        total_quantity=total_quantity,
        starts_at=starts_at,
        ends_at=ends_at,
        valid_days=valid_days,
        min_order_amount=min_order_amount,
    )
    return Coupon.objects.create(
        name=name,
        discount_type=discount_type,
        discount_value=discount_value,
        max_discount=max_discount,
        min_order_amount=min_order_amount,
        total_quantity=total_quantity,
        starts_at=starts_at,
        ends_at=ends_at,
        valid_days=valid_days,
    )


def update_coupon(*, coupon_id: int, name: str, starts_at: datetime | None, ends_at: datetime | None) -> Coupon:
    """Staff: rename or reschedule a campaign. Its terms stay as created: issued coupons rely on them."""
    coupon = Coupon.objects.filter(pk=coupon_id).first()
    if coupon is None:
        raise NotFound("No such coupon campaign.")
    validate_coupon_terms(
        discount_type=coupon.discount_type,
        discount_value=coupon.discount_value,
        max_discount=coupon.max_discount,
        total_quantity=coupon.total_quantity,
        starts_at=starts_at,
        ends_at=ends_at,
        valid_days=coupon.valid_days,
        min_order_amount=coupon.min_order_amount,
    )
    Coupon.objects.filter(pk=coupon_id).update(name=name, starts_at=starts_at, ends_at=ends_at)
    campaigns.forget_after_commit(coupon_id)
    coupon.refresh_from_db()
    return coupon


def issue_coupon(*, user, coupon_id: int) -> UserCoupon:
    """First come, first served: exactly `total_quantity` coupons ever, at most one per user.

    The Redis gate (when on) refuses sold-out and already-issued requests without a database write
    and reserves a slot for the rest; the database then decides for real with a guarded UPDATE of
    the issued count plus the unique (user, coupon) row. A reservation whose database step fails is
    given back, so the gate never keeps a slot the database did not issue. The campaign itself is
    read from the campaign cache, so a claim the gate refuses touches no database at all.
    """
    coupon = campaigns.get_campaign(coupon_id)
    if coupon is None:
        raise NotFound("This coupon campaign does not exist.")
    now = timezone.now()
    if not coupon.is_open(now):
        raise CouponNotActive(
            details={
                "starts_at": coupon.starts_at.isoformat() if coupon.starts_at else None,
                "ends_at": coupon.ends_at.isoformat() if coupon.ends_at else None,
            }
        )

    reserved = False
    if gate.enabled():
        outcome = gate.reserve(coupon=coupon, user_id=user.pk)
        if outcome is gate.Outcome.ALREADY_ISSUED:
            raise CouponAlreadyIssued()
        if outcome is gate.Outcome.SOLD_OUT:
            raise CouponSoldOut()
        reserved = outcome is gate.Outcome.RESERVED

    try:
        return _issue_in_database(user=user, coupon=coupon, issued_at=now)
    except CouponAlreadyIssued:
        raise  # the user does hold one: the gate's entry is the truth, keep it
    except CouponSoldOut:
        if reserved:
            gate.release(coupon=coupon, user_id=user.pk, sold_out=True)
        raise
    except BaseException:
        if reserved:
            gate.release(coupon=coupon, user_id=user.pk)
        raise


def _issue_in_database(*, user, coupon: Coupon, issued_at: datetime) -> UserCoupon:
    already_issued = UserCoupon.objects.filter(user=user, coupon_id=coupon.pk)
    try:
        with transaction.atomic():
            taken = Coupon.objects.filter(pk=coupon.pk, issued_quantity__lt=F("total_quantity")).update(
                issued_quantity=F("issued_quantity") + 1
            )
            if not taken:
                raise CouponAlreadyIssued() if already_issued.exists() else CouponSoldOut()
            coupon.refresh_from_db(fields=["issued_quantity"])  # the row is ours until commit: exact
            user_coupon = UserCoupon.objects.create(
                user=user, coupon=coupon, issued_at=issued_at, expires_at=issued_at + timedelta(days=coupon.valid_days)
            )
            publish(
                type="coupon.issued",
                aggregate=user_coupon,
                data={
                    "user_coupon_id": user_coupon.pk,
                    "coupon_id": coupon.pk,
                    "user_id": user.pk,
                    "issued_at": user_coupon.issued_at.isoformat(),
                    "expires_at": user_coupon.expires_at.isoformat(),
                },
            )
    except IntegrityError:
        if already_issued.exists():
            raise CouponAlreadyIssued() from None
        raise
    return user_coupon


def calculate_discount(*, coupon: Coupon, subtotal: int) -> int:
    """API.md's rule: fixed takes its value off; percent floors, then caps at max_discount; never above the subtotal."""
    if coupon.discount_type == Coupon.DiscountType.PERCENT:
        discount = subtotal * coupon.discount_value // 100
        if coupon.max_discount is not None:
            discount = min(discount, coupon.max_discount)
    else:
        discount = coupon.discount_value
    return max(0, min(discount, subtotal))


def lock_applicable_coupon(*, user, user_coupon_id: int, subtotal: int) -> tuple[UserCoupon, int]:
    """Inside the caller's transaction: lock the user's coupon and check it can pay for this subtotal.

    Someone else's coupon is NOT_FOUND, like an unknown one (API.md), and is never locked.
    """
    user_coupon = locks.lock_user_coupon(user=user, user_coupon_id=user_coupon_id)
    if user_coupon is None:
        raise NotFound("This coupon is not in your account.", details={"user_coupon_id": user_coupon_id})
    if user_coupon.status == UserCoupon.Status.USED:
        raise CouponNotApplicable("This coupon has already been used.", details={"user_coupon_id": user_coupon_id})
    if not user_coupon.is_usable():
        raise CouponNotApplicable("This coupon has expired.", details={"user_coupon_id": user_coupon_id})
    # Not locked: locking the campaign row would queue every checkout behind the issuing rush. Its
    # terms never change once created, so the cached campaign serves (one query fewer per checkout).
    coupon = campaigns.get_campaign(user_coupon.coupon_id)
    user_coupon.coupon = coupon
    if subtotal < coupon.min_order_amount:
        raise CouponNotApplicable(
            "The order is below this coupon's minimum amount.",
            details={"user_coupon_id": user_coupon_id, "min_order_amount": coupon.min_order_amount, "subtotal": subtotal},
        )
    return user_coupon, calculate_discount(coupon=coupon, subtotal=subtotal)


def mark_coupon_used(*, user_coupon: UserCoupon, order) -> None:
    """Inside the caller's transaction, after lock_applicable_coupon: the coupon pays for `order`."""
    _require_transaction()
    now = timezone.now()
    updated = UserCoupon.objects.filter(pk=user_coupon.pk, status=UserCoupon.Status.AVAILABLE).update(
        status=UserCoupon.Status.USED, used_order=order, used_at=now
    )
    if not updated:
        raise CouponNotApplicable("This coupon is no longer available.", details={"user_coupon_id": user_coupon.pk})
    user_coupon.status, user_coupon.used_order, user_coupon.used_at = UserCoupon.Status.USED, order, now


def restore_coupon(*, user_coupon: UserCoupon) -> None:
    """Inside the caller's transaction (an order's cancellation): a used coupon becomes usable again unless it expired."""
    _require_transaction()
    status = UserCoupon.Status.EXPIRED if user_coupon.has_expired() else UserCoupon.Status.AVAILABLE
    updated = UserCoupon.objects.filter(pk=user_coupon.pk, status=UserCoupon.Status.USED).update(status=status, used_order=None, used_at=None)
    if updated:
        user_coupon.status, user_coupon.used_order, user_coupon.used_at = status, None, None


def expire_user_coupons() -> int:
    """Mark available coupons past their expiry as expired; returns how many changed. Safe to run twice."""
    return UserCoupon.objects.past_expiry().update(status=UserCoupon.Status.EXPIRED)


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("This coupon change must run inside the caller's transaction.atomic().")
