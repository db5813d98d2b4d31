import pytest
from django.test import Client

from apps.coupons.models import Coupon, UserCoupon
from tests.factories import CouponFactory, UserCouponFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_campaign_list_with_issued_remaining_and_filters(admin_client_):
    CouponFactory(name="Half gone", total_quantity=10, issued_quantity=4)
    CouponFactory(name="All gone", total_quantity=3, issued_quantity=3)
    html = admin_client_.get("/admin/coupons/coupon/").content.decode()
    assert "Half gone" in html and "All gone" in html and "Remaining" in html
    sold_out = admin_client_.get("/admin/coupons/coupon/?state=sold_out").content.decode()
    assert "All gone" in sold_out and "Half gone" not in sold_out
    assert admin_client_.get("/admin/coupons/coupon/?state=open&discount_type__exact=fixed").status_code == 200


def test_campaign_created_through_the_admin_form_is_validated(admin_client_):
    form = {"name": "Admin made", "discount_type": "percent", "discount_value": 150, "min_order_amount": 0, "total_quantity": 5, "valid_days": 30}
    response = admin_client_.post("/admin/coupons/coupon/add/", form)
    assert response.status_code == 200
    assert "A percent discount must be between 1 and 100." in response.content.decode()
    assert not Coupon.objects.exists()
    response = admin_client_.post("/admin/coupons/coupon/add/", {**form, "discount_value": 15})
    assert response.status_code == 302
    assert Coupon.objects.get().issued_quantity == 0


def test_issued_coupons_are_read_only_and_searchable_by_email(admin_client_):
    mine = UserCouponFactory(user=UserFactory(email="findme@example.com"))
    UserCouponFactory(user=UserFactory(email="other@example.com"))
    html = admin_client_.get("/admin/coupons/usercoupon/?q=findme").content.decode()
    assert "findme@example.com" in html and "other@example.com" not in html
    assert admin_client_.get("/admin/coupons/usercoupon/add/").status_code == 403
    response = admin_client_.post(f"/admin/coupons/usercoupon/{mine.pk}/change/", {"status": "used"})
    assert response.status_code == 403
    assert UserCoupon.objects.get(pk=mine.pk).status == UserCoupon.Status.AVAILABLE
