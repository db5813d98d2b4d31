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


def test_a_campaign_is_renamed_and_rescheduled_through_the_service_with_its_terms_kept(admin_client_):
    coupon = CouponFactory(name="Old name", discount_type="fixed", discount_value=500, total_quantity=10, issued_quantity=3)
    form = {"name": "Spring sale", "starts_at_0": "2030-03-01", "starts_at_1": "09:00:00", "ends_at_0": "2030-03-08", "ends_at_1": "09:00:00"}

    response = admin_client_.post(f"/admin/coupons/coupon/{coupon.pk}/change/", {**form, "discount_value": 99, "total_quantity": 999})

    assert response.status_code == 302
    coupon.refresh_from_db()
    assert coupon.name == "Spring sale"
    assert (coupon.starts_at.isoformat(), coupon.ends_at.isoformat()) == ("2030-03-01T09:00:00+00:00", "2030-03-08T09:00:00+00:00")
    assert (coupon.discount_value, coupon.total_quantity, coupon.issued_quantity) == (500, 10, 3)


def test_a_campaign_cannot_be_rescheduled_to_end_before_it_starts(admin_client_):
    coupon = CouponFactory(name="Kept")
    form = {"name": "Changed", "starts_at_0": "2030-03-08", "starts_at_1": "09:00:00", "ends_at_0": "2030-03-01", "ends_at_1": "09:00:00"}

    response = admin_client_.post(f"/admin/coupons/coupon/{coupon.pk}/change/", form)

    assert response.status_code == 200
    assert "The campaign must end after it starts." in response.content.decode()
    coupon.refresh_from_db()
    assert (coupon.name, coupon.starts_at, coupon.ends_at) == ("Kept", None, None)
