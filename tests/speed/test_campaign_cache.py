"""The campaign cache behind a coupon claim (apps.coupons.campaigns): a change to a campaign reaches the
very next claim, whatever the path (the service, the admin's edit and delete), and a claim works with
Redis down. Transactional: the forgets that matter run after COMMIT, as in production."""

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from django_redis import get_redis_connection

from apps.coupons import campaigns, services
from apps.coupons.models import Coupon
from config.settings.components.cache import redis_cache
from tests.factories import CouponFactory, UserFactory
from tests.speed.conftest import token_client
from tests.speed.counting import count_database_cost

pytestmark = pytest.mark.django_db(transaction=True)


def _claim(client, coupon_id: int):
    return client.post(f"/api/v1/coupons/{coupon_id}/issue")


def _code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def sold_out():
    """A one-coupon campaign already claimed, and a latecomer whose refusal is answered from memory."""
    coupon = CouponFactory(total_quantity=1, name="Flash")
    assert _claim(token_client(UserFactory()), coupon.pk).status_code == 201
    latecomer = token_client(UserFactory())
    assert _code(_claim(latecomer, coupon.pk)) == "COUPON_SOLD_OUT"
    assert get_redis_connection("default").exists(campaigns._entry_key(coupon.pk)) == 1
    return coupon, latecomer


def test_a_window_closed_through_the_service_refuses_the_next_claim(sold_out):
    coupon, latecomer = sold_out
    services.update_coupon(coupon_id=coupon.pk, name=coupon.name, starts_at=None, ends_at=timezone.now() - timedelta(seconds=1))
    assert _code(_claim(latecomer, coupon.pk)) == "COUPON_NOT_ACTIVE"


def test_a_window_moved_in_the_admin_refuses_the_next_claim(sold_out):
    coupon, latecomer = sold_out
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {"name": "Later", "starts_at_0": "2030-03-01", "starts_at_1": "09:00:00", "ends_at_0": "2030-03-08", "ends_at_1": "09:00:00"}
    assert admin.post(f"/admin/coupons/coupon/{coupon.pk}/change/", form).status_code == 302
    response = _claim(latecomer, coupon.pk)
    assert _code(response) == "COUPON_NOT_ACTIVE"
    assert response.json()["error"]["details"]["starts_at"] == "2030-03-01T09:00:00+00:00"


def test_a_campaign_deleted_in_the_admin_is_not_found_on_the_next_claim():
    coupon = CouponFactory()
    shopper = token_client(UserFactory())
    assert campaigns.get_campaign(coupon.pk) is not None  # cached
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert admin.post(f"/admin/coupons/coupon/{coupon.pk}/delete/", {"post": "yes"}).status_code == 302
    assert _code(_claim(shopper, coupon.pk)) == "NOT_FOUND"


def test_a_claim_answers_with_the_campaign_as_it_is_now():
    coupon = CouponFactory(total_quantity=5, name="Spring")
    assert campaigns.get_campaign(coupon.pk) is not None  # cached before the others claim
    for _ in range(2):
        assert _claim(token_client(UserFactory()), coupon.pk).status_code == 201
    body = _claim(token_client(UserFactory()), coupon.pk).json()
    assert (body["coupon"]["name"], body["coupon"]["issued_quantity"], body["coupon"]["remaining"]) == ("Spring", 3, 2)


def test_a_read_that_raced_a_change_is_not_stored():
    coupon = CouponFactory()
    _, generation = get_redis_connection("default").mget([campaigns._entry_key(coupon.pk), campaigns._generation_key(coupon.pk)])
    stale = Coupon.objects.get(pk=coupon.pk)
    services.update_coupon(coupon_id=coupon.pk, name="Renamed", starts_at=None, ends_at=None)
    campaigns._store(get_redis_connection("default"), stale, generation=generation.decode() if generation else "")
    assert campaigns.get_campaign(coupon.pk).name == "Renamed"


@override_settings(CACHES={"default": redis_cache("redis://127.0.0.1:1/0")}, COUPON_REDIS_GATE=False)
def test_redis_down_claims_read_the_campaign_from_the_database():
    coupon = CouponFactory(total_quantity=1)
    winner = UserFactory()
    with count_database_cost() as cost:
        services.issue_coupon(user=winner, coupon_id=coupon.pk)
    assert "coupons_coupon" in cost.statements[0] and cost.statements[0].lstrip().startswith("SELECT")
    with pytest.raises(services.CouponSoldOut):
        services.issue_coupon(user=UserFactory(), coupon_id=coupon.pk)
    assert Coupon.objects.get(pk=coupon.pk).issued_quantity == 1
