from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from apps.core.errors import CouponNotApplicable, NotFound, ValidationError
from apps.coupons import selectors, services
from apps.coupons.models import Coupon, UserCoupon
from apps.orders.models import Order
from tests.factories import CouponFactory, UserCouponFactory, UserFactory

pytestmark = pytest.mark.django_db


def _coupon(**fields) -> Coupon:
    return Coupon(**{"discount_type": "fixed", "discount_value": 500, "total_quantity": 1, **fields})


@pytest.mark.parametrize(
    ("fields", "subtotal", "expected"),
    [
        ({"discount_type": "fixed", "discount_value": 500}, 2000, 500),
        ({"discount_type": "fixed", "discount_value": 500}, 300, 300),  # never above the subtotal
        ({"discount_type": "percent", "discount_value": 15}, 999, 149),  # 149.85 floors to 149
        ({"discount_type": "percent", "discount_value": 10}, 5, 0),  # 0.5 floors to 0
        ({"discount_type": "percent", "discount_value": 50, "max_discount": 300}, 1000, 300),  # capped
        ({"discount_type": "percent", "discount_value": 50, "max_discount": 300}, 401, 200),  # below the cap: floor
        ({"discount_type": "percent", "discount_value": 100}, 1234, 1234),
        ({"discount_type": "fixed", "discount_value": 500, "max_discount": 100}, 2000, 500),  # the cap is for percent only
    ],
)
def test_calculate_discount(fields, subtotal, expected):
    assert services.calculate_discount(coupon=_coupon(**fields), subtotal=subtotal) == expected


def test_issue_sets_expiry_from_the_issue_instant():
    coupon = CouponFactory(valid_days=7)
    user_coupon = services.issue_coupon(user=UserFactory(), coupon_id=coupon.pk)
    assert user_coupon.expires_at - user_coupon.issued_at == timedelta(days=7)
    assert user_coupon.status == UserCoupon.Status.AVAILABLE


def _order(user, subtotal=2000) -> Order:
    return Order.objects.create(user=user, subtotal=subtotal, discount=0, total=subtotal)


def test_lock_use_and_restore():
    user_coupon = UserCouponFactory(coupon=CouponFactory(discount_type="percent", discount_value=10, max_discount=150, min_order_amount=1000))
    order = _order(user_coupon.user)
    with transaction.atomic():
        locked, discount = services.lock_applicable_coupon(user=user_coupon.user, user_coupon_id=user_coupon.pk, subtotal=2000)
        assert discount == 150
        services.mark_coupon_used(user_coupon=locked, order=order)
    user_coupon.refresh_from_db()
    assert (user_coupon.status, user_coupon.used_order_id) == (UserCoupon.Status.USED, order.pk)
    assert user_coupon.used_at is not None

    with transaction.atomic():
        services.restore_coupon(user_coupon=user_coupon)
    user_coupon.refresh_from_db()
    assert (user_coupon.status, user_coupon.used_order_id, user_coupon.used_at) == (UserCoupon.Status.AVAILABLE, None, None)
    with transaction.atomic():
        assert services.lock_applicable_coupon(user=user_coupon.user, user_coupon_id=user_coupon.pk, subtotal=1000)[1] == 100


def test_restore_after_expiry_leaves_it_expired():
    user_coupon = UserCouponFactory(status=UserCoupon.Status.USED, expires_at=timezone.now() - timedelta(minutes=1))
    user_coupon.used_order = _order(user_coupon.user)
    user_coupon.save()
    with transaction.atomic():
        services.restore_coupon(user_coupon=user_coupon)
    user_coupon.refresh_from_db()
    assert (user_coupon.status, user_coupon.used_order_id) == (UserCoupon.Status.EXPIRED, None)


def _rejection(user, user_coupon_id: int, subtotal: int = 5000) -> str:
    with pytest.raises(CouponNotApplicable) as excinfo, transaction.atomic():
        services.lock_applicable_coupon(user=user, user_coupon_id=user_coupon_id, subtotal=subtotal)
    return excinfo.value.message


def test_someone_elses_or_an_unknown_coupon_is_not_found_and_not_locked():
    owner = UserFactory()
    for user, user_coupon_id in ((UserFactory(), UserCouponFactory(user=owner).pk), (owner, 999_999)):
        with pytest.raises(NotFound, match="not in your account"), transaction.atomic():
            services.lock_applicable_coupon(user=user, user_coupon_id=user_coupon_id, subtotal=5000)
    assert UserCoupon.objects.get().status == UserCoupon.Status.AVAILABLE


def test_lock_applicable_coupon_rejections():
    owner = UserFactory()
    assert "already been used" in _rejection(owner, UserCouponFactory(user=owner, status=UserCoupon.Status.USED).pk)
    assert "expired" in _rejection(owner, UserCouponFactory(user=owner, expires_at=timezone.now() - timedelta(seconds=1)).pk)
    assert "expired" in _rejection(owner, UserCouponFactory(user=owner, status=UserCoupon.Status.EXPIRED).pk)
    below = UserCouponFactory(user=owner, coupon=CouponFactory(min_order_amount=5001))
    assert "minimum" in _rejection(owner, below.pk, subtotal=5000)
    assert UserCoupon.objects.filter(status=UserCoupon.Status.USED).count() == 1  # nothing changed


@pytest.mark.django_db(transaction=True)
def test_lock_use_and_restore_require_the_callers_transaction():
    user_coupon = UserCouponFactory()
    with pytest.raises(Exception, match="transaction"):
        services.lock_applicable_coupon(user=user_coupon.user, user_coupon_id=user_coupon.pk, subtotal=5000)
    with pytest.raises(RuntimeError):
        services.mark_coupon_used(user_coupon=user_coupon, order=_order(user_coupon.user))
    with pytest.raises(RuntimeError):
        services.restore_coupon(user_coupon=user_coupon)
    assert UserCoupon.objects.get().status == UserCoupon.Status.AVAILABLE


def test_mark_used_twice_is_refused():
    user_coupon = UserCouponFactory()
    with transaction.atomic():
        services.mark_coupon_used(user_coupon=user_coupon, order=_order(user_coupon.user))
    with pytest.raises(CouponNotApplicable), transaction.atomic():
        services.mark_coupon_used(user_coupon=UserCoupon.objects.get(pk=user_coupon.pk), order=_order(user_coupon.user))


def test_expiry_reads_and_marking():
    user = UserFactory()
    past = UserCouponFactory(user=user, expires_at=timezone.now() - timedelta(seconds=1))
    used_past = UserCouponFactory(user=user, status=UserCoupon.Status.USED, expires_at=timezone.now() - timedelta(seconds=1))
    fresh = UserCouponFactory(user=user)
    statuses = {uc.pk: uc.effective_status for uc in selectors.user_coupons(user=user)}
    assert statuses == {past.pk: "expired", used_past.pk: "used", fresh.pk: "available"}
    assert [uc.pk for uc, _ in selectors.applicable_coupons(user=user, subtotal=10_000)] == [fresh.pk]

    assert services.expire_user_coupons() == 1
    assert services.expire_user_coupons() == 0  # safe to run twice
    assert dict(UserCoupon.objects.values_list("pk", "status")) == {past.pk: "expired", used_past.pk: "used", fresh.pk: "available"}


def test_applicable_coupons_biggest_discount_first_and_min_order():
    user = UserFactory()
    small = UserCouponFactory(user=user, coupon=CouponFactory(discount_value=100))
    big = UserCouponFactory(user=user, coupon=CouponFactory(discount_type="percent", discount_value=20))
    UserCouponFactory(user=user, coupon=CouponFactory(discount_value=900, min_order_amount=3001))
    UserCouponFactory(coupon=CouponFactory(discount_value=999))  # someone else's
    assert [(uc.pk, discount) for uc, discount in selectors.applicable_coupons(user=user, subtotal=3000)] == [(big.pk, 600), (small.pk, 100)]


def test_open_coupons():
    now = timezone.now()
    open_now = CouponFactory(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    always = CouponFactory()
    CouponFactory(starts_at=now + timedelta(minutes=1))
    CouponFactory(ends_at=now)
    assert {c.pk for c in selectors.open_coupons()} == {open_now.pk, always.pk}


@override_settings(COUPON_DEFAULT_VALID_DAYS=9)
def test_create_coupon_defaults_and_rules():
    coupon = services.create_coupon(name="Spring", discount_type="percent", discount_value=100, total_quantity=1)
    assert (coupon.valid_days, coupon.issued_quantity, coupon.min_order_amount) == (9, 0, 0)
    now = timezone.now()
    with pytest.raises(ValidationError) as excinfo:
        services.create_coupon(name="Bad", discount_type="percent", discount_value=101, total_quantity=0, starts_at=now, ends_at=now, valid_days=0)
    assert set(excinfo.value.details) == {"discount_value", "total_quantity", "ends_at", "valid_days"}
    assert Coupon.objects.count() == 1


def test_update_coupon_refuses_an_end_before_the_start_and_an_unknown_campaign():
    coupon = CouponFactory(name="Kept")
    now = timezone.now()
    with pytest.raises(ValidationError) as excinfo:
        services.update_coupon(coupon_id=coupon.pk, name="Changed", starts_at=now, ends_at=now - timedelta(hours=1))
    assert "ends_at" in excinfo.value.details
    coupon.refresh_from_db()
    assert coupon.name == "Kept"
    with pytest.raises(NotFound):
        services.update_coupon(coupon_id=987_654, name="x", starts_at=None, ends_at=None)
