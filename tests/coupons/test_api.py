from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.coupons.models import Coupon, UserCoupon
from apps.outbox.models import OutboxEvent
from tests.factories import CouponFactory, UserCouponFactory, UserFactory

pytestmark = pytest.mark.django_db

COUPON_FIELDS = {
    "id",
    "name",
    "discount_type",
    "discount_value",
    "max_discount",
    "min_order_amount",
    "total_quantity",
    "issued_quantity",
    "remaining",
    "starts_at",
    "ends_at",
    "currency",
}


def issue_url(coupon_id: int) -> str:
    return f"/api/v1/coupons/{coupon_id}/issue"


def _state() -> tuple:
    """Everything an issue request could change."""
    return (
        sorted(UserCoupon.objects.values_list("id", "user_id", "coupon_id", "status")),
        sorted(Coupon.objects.values_list("id", "issued_quantity", "total_quantity")),
        OutboxEvent.objects.count(),
    )


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_list_open_campaigns_without_auth(api_client):
    now = timezone.now()
    shown = CouponFactory(
        name="Spring",
        discount_type="percent",
        discount_value=15,
        max_discount=2000,
        min_order_amount=5000,
        total_quantity=50,
        issued_quantity=12,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    CouponFactory(starts_at=now + timedelta(hours=1))
    CouponFactory(ends_at=now - timedelta(seconds=1))
    response = api_client.get("/api/v1/coupons")
    assert response.status_code == 200
    [item] = response.json()
    assert set(item) == COUPON_FIELDS
    assert item | {"starts_at": None, "ends_at": None} == {
        "id": shown.pk,
        "name": "Spring",
        "discount_type": "percent",
        "discount_value": 15,
        "max_discount": 2000,
        "min_order_amount": 5000,
        "total_quantity": 50,
        "issued_quantity": 12,
        "remaining": 38,
        "starts_at": None,
        "ends_at": None,
        "currency": settings.CURRENCY,
    }
    assert item["ends_at"].startswith(str(shown.ends_at.year))


def test_issue_returns_201_user_coupon(auth_client):
    coupon = CouponFactory(total_quantity=5, valid_days=10)
    response = auth_client.post(issue_url(coupon.pk))
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "coupon", "status", "issued_at", "expires_at", "used_order_id"}
    assert (body["status"], body["used_order_id"], body["coupon"]["id"]) == ("available", None, coupon.pk)
    assert body["coupon"]["issued_quantity"] == 1 and body["coupon"]["remaining"] == 4
    user_coupon = UserCoupon.objects.get(pk=body["id"])
    assert user_coupon.user_id == auth_client.user.pk
    assert user_coupon.expires_at == user_coupon.issued_at + timedelta(days=10)
    [event] = OutboxEvent.objects.filter(type="coupon.issued")
    assert event.payload["user_coupon_id"] == user_coupon.pk and event.payload["coupon_id"] == coupon.pk


@pytest.mark.parametrize("gate_on", [True, False])
def test_sold_out_and_already_issued(gate_on, auth_client):
    coupon = CouponFactory(total_quantity=1)
    with override_settings(COUPON_REDIS_GATE=gate_on):
        assert auth_client.post(issue_url(coupon.pk)).status_code == 201
        before = _state()
        _assert_error(auth_client.post(issue_url(coupon.pk)), 409, "COUPON_ALREADY_ISSUED")
        assert _state() == before
        other = APIClient()
        other.force_authenticate(UserFactory())
        _assert_error(other.post(issue_url(coupon.pk)), 409, "COUPON_SOLD_OUT")
        assert _state() == before


@pytest.mark.parametrize("window", ["not started", "ended"])
def test_issue_outside_the_campaign_window(window, auth_client):
    now = timezone.now()
    if window == "not started":
        coupon = CouponFactory(starts_at=now + timedelta(minutes=5))
    else:
        coupon = CouponFactory(starts_at=now - timedelta(days=2), ends_at=now - timedelta(seconds=1))
    before = _state()
    error = _assert_error(auth_client.post(issue_url(coupon.pk)), 422, "COUPON_NOT_ACTIVE")
    assert set(error["details"]) == {"starts_at", "ends_at"}
    assert _state() == before


def test_issue_unknown_campaign(auth_client):
    CouponFactory()
    before = _state()
    _assert_error(auth_client.post(issue_url(987654)), 404, "NOT_FOUND")
    assert _state() == before


def test_auth_required(api_client):
    coupon = CouponFactory()
    before = _state()
    _assert_error(api_client.post(issue_url(coupon.pk)), 401, "NOT_AUTHENTICATED")
    _assert_error(api_client.get("/api/v1/me/coupons"), 401, "NOT_AUTHENTICATED")
    _assert_error(api_client.post("/api/v1/staff/coupons", {}, format="json"), 401, "NOT_AUTHENTICATED")
    assert _state() == before


def test_issue_is_throttled_per_user(auth_client):
    coupons = CouponFactory.create_batch(3)
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "coupon_issue": "2/min"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        assert auth_client.post(issue_url(coupons[0].pk)).status_code == 201
        assert auth_client.post(issue_url(coupons[1].pk)).status_code == 201
        before = _state()
        response = auth_client.post(issue_url(coupons[2].pk))
        _assert_error(response, 429, "THROTTLED")
        assert 0 < int(response["Retry-After"]) <= 60
        assert _state() == before
        other = APIClient()
        other.force_authenticate(UserFactory())
        assert other.post(issue_url(coupons[2].pk)).status_code == 201  # the limit is per user


def test_my_coupons_with_effective_status(auth_client):
    user = auth_client.user
    expired = UserCouponFactory(user=user, expires_at=timezone.now() - timedelta(minutes=1))
    available = UserCouponFactory(user=user)
    UserCouponFactory()  # someone else's
    response = auth_client.get("/api/v1/me/coupons")
    assert response.status_code == 200
    statuses = {item["id"]: item["status"] for item in response.json()}
    assert statuses == {expired.pk: "expired", available.pk: "available"}
    assert set(response.json()[0]["coupon"]) == COUPON_FIELDS


VALID_BODY = {"name": "Weekend", "discount_type": "percent", "discount_value": 20, "max_discount": 1500, "total_quantity": 100}


@override_settings(COUPON_DEFAULT_VALID_DAYS=14)
def test_staff_create_coupon(staff_client):
    starts = timezone.now() + timedelta(hours=1)
    body = {**VALID_BODY, "min_order_amount": 3000, "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(days=1)).isoformat()}
    response = staff_client.post("/api/v1/staff/coupons", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == COUPON_FIELDS
    assert (data["issued_quantity"], data["remaining"], data["min_order_amount"]) == (0, 100, 3000)
    coupon = Coupon.objects.get(pk=data["id"])
    assert (coupon.valid_days, coupon.starts_at) == (14, starts)
    minimal = staff_client.post(
        "/api/v1/staff/coupons", {"name": "Five off", "discount_type": "fixed", "discount_value": 500, "total_quantity": 1, "valid_days": 3}, format="json"
    )
    assert minimal.status_code == 201
    assert Coupon.objects.get(pk=minimal.json()["id"]).valid_days == 3


def test_staff_create_needs_staff(auth_client):
    _assert_error(auth_client.post("/api/v1/staff/coupons", VALID_BODY, format="json"), 403, "PERMISSION_DENIED")
    assert not Coupon.objects.exists()


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"discount_value": 0}, {"discount_value"}),
        ({"discount_value": 101}, {"discount_value"}),
        ({"discount_type": "fixed", "discount_value": 0}, {"discount_value"}),
        ({"discount_type": "fixed", "discount_value": -5}, {"discount_value"}),
        ({"discount_type": "bogus"}, {"discount_type"}),
        ({"total_quantity": 0}, {"total_quantity"}),
        ({"total_quantity": "100"}, {"total_quantity"}),
        ({"discount_value": 12.5}, {"discount_value"}),
        ({"max_discount": 0}, {"max_discount"}),
        ({"min_order_amount": -1}, {"min_order_amount"}),
        ({"valid_days": 0}, {"valid_days"}),
        ({"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, {"ends_at"}),
        ({"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z"}, {"ends_at"}),
        ({"starts_at": "next tuesday"}, {"starts_at"}),
        ({"name": None, "total_quantity": None}, {"name", "total_quantity"}),
    ],
)
def test_staff_create_validation(staff_client, changes, fields):
    body = {key: value for key, value in {**VALID_BODY, **changes}.items() if value is not None}
    error = _assert_error(staff_client.post("/api/v1/staff/coupons", body, format="json"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == fields
    assert all(isinstance(message, str) for messages in error["details"].values() for message in messages)
    assert not Coupon.objects.exists()
