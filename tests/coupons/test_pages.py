from datetime import timedelta

import pytest
from django.utils import timezone

from apps.coupons.models import Coupon, UserCoupon
from tests.factories import CouponFactory, UserCouponFactory, UserFactory
from tests.pages import messages_of

pytestmark = pytest.mark.django_db



def test_list_shows_open_campaigns_with_what_remains(client):
    CouponFactory(name="Spring sale", discount_type="percent", discount_value=15, max_discount=2000, total_quantity=50, issued_quantity=8)
    CouponFactory(name="All gone", total_quantity=5, issued_quantity=5)
    CouponFactory(name="Next week", starts_at=timezone.now() + timedelta(days=7))
    response = client.get("/coupons/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Spring sale" in html and "15% off (up to $20.00)" in html and "42 of 50 left" in html
    assert "All gone" in html and "All claimed" in html
    assert "Next week" not in html
    assert "Log in to claim" in html


def test_anonymous_claim_redirects_to_login(client):
    coupon = CouponFactory()
    response = client.post(f"/coupons/{coupon.pk}/claim/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/coupons/"
    assert not UserCoupon.objects.exists()
    response = client.get("/coupons/mine/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/coupons/mine/"


def test_claim_then_see_it_in_my_coupons(shopper_client):
    coupon = CouponFactory(name="Five off", valid_days=7)
    response = shopper_client.post(f"/coupons/{coupon.pk}/claim/", follow=True)
    assert response.redirect_chain == [("/coupons/mine/", 302)]
    assert messages_of(response) == ["Coupon claimed: Five off. Use it at checkout within 7 days."]
    html = response.content.decode()
    assert "Five off" in html and "Available" in html
    assert UserCoupon.objects.get().user_id == shopper_client.user.pk
    assert Coupon.objects.get().issued_quantity == 1
    assert "You have this coupon" in shopper_client.get("/coupons/").content.decode()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("sold_out", "All coupons of this campaign have been claimed."),
        ("already", "You already have this coupon."),
        ("not_open", "This coupon campaign is not open."),
    ],
)
def test_claim_refusals_are_explained(shopper_client, setup, message):
    coupon = CouponFactory(total_quantity=1)
    if setup == "sold_out":
        UserCouponFactory(coupon=coupon)
        Coupon.objects.filter(pk=coupon.pk).update(issued_quantity=1)
    elif setup == "already":
        UserCouponFactory(coupon=coupon, user=shopper_client.user)
        Coupon.objects.filter(pk=coupon.pk).update(issued_quantity=1)
    else:
        Coupon.objects.filter(pk=coupon.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    before = list(UserCoupon.objects.values_list("id", flat=True))
    response = shopper_client.post(f"/coupons/{coupon.pk}/claim/", follow=True)
    assert response.redirect_chain == [("/coupons/", 302)]
    assert messages_of(response) == [message]
    assert list(UserCoupon.objects.values_list("id", flat=True)) == before


def test_claim_unknown_campaign(shopper_client):
    response = shopper_client.post("/coupons/424242/claim/", follow=True)
    assert response.redirect_chain == [("/coupons/", 302)]
    assert messages_of(response) == ["This coupon campaign does not exist."]


def test_claim_needs_post(shopper_client):
    coupon = CouponFactory()
    assert shopper_client.get(f"/coupons/{coupon.pk}/claim/").status_code == 405
    assert not UserCoupon.objects.exists()


def test_my_coupons_shows_statuses(shopper_client):
    user = shopper_client.user
    UserCouponFactory(user=user, coupon=CouponFactory(name="Old one"), expires_at=timezone.now() - timedelta(days=1))
    UserCouponFactory(user=user, coupon=CouponFactory(name="Spent one"), status=UserCoupon.Status.USED)
    UserCouponFactory(user=user, coupon=CouponFactory(name="Fresh one", discount_type="percent", discount_value=10))
    UserCouponFactory(user=UserFactory(), coupon=CouponFactory(name="Not mine"))
    html = shopper_client.get("/coupons/mine/").content.decode()
    for text in ["Old one", "Expired", "Spent one", "Used", "Fresh one", "Available", "10% off"]:
        assert text in html
    assert "Not mine" not in html
