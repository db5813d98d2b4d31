"""Issuing under a rush: real threads against MariaDB and Redis, with the Redis gate on and off."""

from collections import Counter
from collections.abc import Callable

import pytest
from django.db import DatabaseError
from django.test import override_settings
from django_redis import get_redis_connection
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.core.errors import CouponAlreadyIssued, CouponSoldOut
from apps.coupons import gate, services
from apps.coupons.models import Coupon, UserCoupon
from apps.outbox.models import OutboxEvent
from tests.concurrency import race
from tests.factories import CouponFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# MariaDB's max_connections (151) is shared by every suite on the development server: at most this
# many threads hold a connection at once; all of them are released together by the barrier.
MAX_CONNECTIONS = 40


def _issuer(user, coupon: Coupon) -> Callable[[], object]:
    return lambda: services.issue_coupon(user=user, coupon_id=coupon.pk)


@pytest.fixture
def database_calls(monkeypatch) -> list[int]:
    """The user id of every issue request that reached the database step."""
    calls: list[int] = []
    real = services._issue_in_database

    def counting(*, user, coupon, issued_at):
        calls.append(user.pk)
        return real(user=user, coupon=coupon, issued_at=issued_at)

    monkeypatch.setattr(services, "_issue_in_database", counting)
    return calls


def _warm(coupon: Coupon) -> None:
    """Build the campaign's gate from the database before the rush (reserving and giving back a slot of nobody)."""
    assert gate.reserve(coupon=coupon, user_id=0) is gate.Outcome.RESERVED
    gate.release(coupon=coupon, user_id=0)


def _gate_state(coupon: Coupon) -> tuple[dict[str, int], set[int]]:
    raw = get_redis_connection("default").hgetall(gate.gate_key(coupon))
    fields = {key.decode(): int(value) for key, value in raw.items()}
    users = {int(key[2:]) for key in fields if key.startswith("u:")}
    return {key: value for key, value in fields.items() if not key.startswith("u:")}, users


def _kinds(results: list[object]) -> Counter:
    return Counter(type(result).__name__ for result in results)


@pytest.mark.parametrize("gate_mode", ["off", "cold", "warm"])
def test_300_users_race_for_100_coupons(gate_mode, database_calls):
    coupon = CouponFactory(total_quantity=100)
    users = UserFactory.create_batch(300)
    with override_settings(COUPON_REDIS_GATE=gate_mode != "off"):
        if gate_mode == "warm":
            _warm(coupon)
        results = race(max_connections=MAX_CONNECTIONS, workers=[_issuer(user, coupon) for user in users])

    assert _kinds(results) == {"UserCoupon": 100, "CouponSoldOut": 200}
    winners = {result.user_id for result in results if isinstance(result, UserCoupon)}
    coupon.refresh_from_db()
    assert coupon.issued_quantity == 100
    assert set(UserCoupon.objects.filter(coupon=coupon).values_list("user_id", flat=True)) == winners
    assert OutboxEvent.objects.filter(type="coupon.issued").count() == 100
    if gate_mode == "off":
        assert len(database_calls) == 300
        assert not get_redis_connection("default").exists(gate.gate_key(coupon))
    else:
        meta, gate_users = _gate_state(coupon)
        assert gate_users <= winners and meta["issued"] == len(gate_users) and meta["total"] == 100
    if gate_mode == "warm":
        # The gate answered every loser: only the 100 winners reached the database.
        assert sorted(database_calls) == sorted(winners)
        assert gate_users == winners


@pytest.mark.parametrize("gate_on", [True, False])
def test_one_user_20_concurrent_requests_get_one_coupon(gate_on, database_calls):
    coupon = CouponFactory(total_quantity=100)
    user = UserFactory()
    with override_settings(COUPON_REDIS_GATE=gate_on):
        if gate_on:
            _warm(coupon)
        results = race(max_connections=MAX_CONNECTIONS, workers=[_issuer(user, coupon) for _ in range(20)])

    assert _kinds(results) == {"UserCoupon": 1, "CouponAlreadyIssued": 19}
    coupon.refresh_from_db()
    assert coupon.issued_quantity == 1
    assert UserCoupon.objects.filter(user=user).count() == 1
    assert OutboxEvent.objects.filter(type="coupon.issued").count() == 1
    assert len(database_calls) == (1 if gate_on else 20)


def test_gate_is_rebuilt_from_the_database_when_its_key_is_gone(database_calls):
    coupon = CouponFactory(total_quantity=10)
    early = UserFactory.create_batch(4)
    for user in early:
        services.issue_coupon(user=user, coupon_id=coupon.pk)
    redis = get_redis_connection("default")
    assert redis.delete(gate.gate_key(coupon)) == 1

    calls_before = len(database_calls)
    with pytest.raises(CouponAlreadyIssued):
        services.issue_coupon(user=early[0], coupon_id=coupon.pk)
    assert len(database_calls) == calls_before  # answered by the rebuilt gate
    assert _gate_state(coupon) == ({"total": 10, "issued": 4}, {user.pk for user in early})

    results = race(max_connections=MAX_CONNECTIONS, workers=[_issuer(user, coupon) for user in UserFactory.create_batch(10)])
    assert _kinds(results) == {"UserCoupon": 6, "CouponSoldOut": 4}
    coupon.refresh_from_db()
    assert coupon.issued_quantity == UserCoupon.objects.filter(coupon=coupon).count() == 10

    redis.delete(gate.gate_key(coupon))
    calls_before = len(database_calls)
    with pytest.raises(CouponSoldOut):
        services.issue_coupon(user=UserFactory(), coupon_id=coupon.pk)
    with pytest.raises(CouponAlreadyIssued):
        services.issue_coupon(user=early[1], coupon_id=coupon.pk)
    assert len(database_calls) == calls_before
    assert _gate_state(coupon)[0] == {"total": 10, "issued": 10}


def test_a_failed_database_step_gives_its_gate_slot_back(monkeypatch):
    coupon = CouponFactory(total_quantity=1)
    first, second = UserFactory.create_batch(2)

    def broken_create(**kwargs):
        raise DatabaseError("simulated failure while inserting the coupon")

    monkeypatch.setattr(UserCoupon.objects, "create", broken_create)
    with pytest.raises(DatabaseError):
        services.issue_coupon(user=first, coupon_id=coupon.pk)
    coupon.refresh_from_db()
    assert coupon.issued_quantity == 0  # the guarded UPDATE rolled back with the insert
    assert _gate_state(coupon) == ({"total": 1, "issued": 0}, set())

    monkeypatch.undo()
    assert services.issue_coupon(user=first, coupon_id=coupon.pk).user_id == first.pk
    with pytest.raises(CouponSoldOut):
        services.issue_coupon(user=second, coupon_id=coupon.pk)
    coupon.refresh_from_db()
    assert coupon.issued_quantity == 1


def test_gate_learns_sold_out_from_the_database(database_calls):
    """A gate that undercounts (a copy built before other issues committed) lets a request through; the database refuses it and the gate remembers."""
    coupon = CouponFactory(total_quantity=3)
    _warm(coupon)
    Coupon.objects.filter(pk=coupon.pk).update(issued_quantity=3)  # issued through another copy of the gate
    with pytest.raises(CouponSoldOut):
        services.issue_coupon(user=UserFactory(), coupon_id=coupon.pk)
    assert len(database_calls) == 1
    assert _gate_state(coupon) == ({"total": 3, "issued": 0, "sold_out": 1}, set())
    with pytest.raises(CouponSoldOut):
        services.issue_coupon(user=UserFactory(), coupon_id=coupon.pk)
    assert len(database_calls) == 1


def test_redis_unreachable_issues_from_the_database_alone(monkeypatch, database_calls):
    def unreachable(alias="default", write=True):
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(gate, "get_redis_connection", unreachable)
    coupon = CouponFactory(total_quantity=1)
    first, second = UserFactory.create_batch(2)
    services.issue_coupon(user=first, coupon_id=coupon.pk)
    with pytest.raises(CouponAlreadyIssued):
        services.issue_coupon(user=first, coupon_id=coupon.pk)
    with pytest.raises(CouponSoldOut):
        services.issue_coupon(user=second, coupon_id=coupon.pk)
    assert len(database_calls) == 3
    coupon.refresh_from_db()
    assert coupon.issued_quantity == 1


def test_warm_gate_refuses_without_database_writes(django_assert_num_queries):
    """Once sold out, a refusal costs no query (the campaign is cached too); without the gate it costs a transaction."""
    coupon = CouponFactory(total_quantity=1)
    holder = UserFactory()
    services.issue_coupon(user=holder, coupon_id=coupon.pk)
    latecomer = UserFactory()
    with django_assert_num_queries(0):
        with pytest.raises(CouponSoldOut):
            services.issue_coupon(user=latecomer, coupon_id=coupon.pk)
    with django_assert_num_queries(0):
        with pytest.raises(CouponAlreadyIssued):
            services.issue_coupon(user=holder, coupon_id=coupon.pk)
    with override_settings(COUPON_REDIS_GATE=False), django_assert_num_queries(4):  # BEGIN, guarded UPDATE, who-holds check, ROLLBACK
        with pytest.raises(CouponSoldOut):
            services.issue_coupon(user=latecomer, coupon_id=coupon.pk)
