"""The cached token lookup (apps.accounts.token_cache): a token request costs no query, and every change
that must reach it does so on the very next request, through the services, the admin and plain saves.

Transactional: the forgets that matter run after COMMIT, as in production.
"""

import hashlib

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from django_redis import get_redis_connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.accounts import services, token_cache
from config.settings.components.cache import redis_cache
from tests.factories import UserFactory
from tests.speed.conftest import token_client
from tests.speed.counting import count_database_cost

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "plum-orchard-lantern-42"
# Nothing listens there: every Redis call fails at once, as with Redis down.
REDIS_DOWN = {"default": redis_cache("redis://127.0.0.1:1/0")}


def _me(client):
    return client.get("/api/v1/me")


def _me_with_key(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return _me(client)


def _assert_refused(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] in {"INVALID_CREDENTIALS", "NOT_AUTHENTICATED"}


def _entry_key(key: str) -> str:
    return cache.make_key(f"auth:token:{hashlib.sha256(key.encode()).hexdigest()}")


def _cached(client) -> bool:
    key = Token.objects.get(user=client.user).key
    return get_redis_connection("default").exists(_entry_key(key)) == 1


@pytest.fixture
def shopper():
    """A client whose token lookup is cached (its first request filled the cache)."""
    client = token_client(UserFactory(name="Ada", email="ada@example.com"))
    assert _me(client).status_code == 200
    assert _cached(client)
    return client


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_a_cached_token_costs_no_query_and_answers_the_same(shopper):
    with count_database_cost() as cost:
        response = _me(shopper)
    assert cost.statements == []
    assert response.json() == {"id": shopper.user.pk, "email": "ada@example.com", "name": "Ada", "is_staff": False}


def test_the_cache_holds_a_hash_of_the_key_never_the_key(shopper):
    key = Token.objects.get(user=shopper.user).key
    client = get_redis_connection("default")
    names = [name.decode() for name in client.keys("*auth:token*")]
    assert _entry_key(key) in names
    assert not any(key in name for name in names)
    assert key.encode() not in client.get(_entry_key(key))
    assert 0 < client.ttl(_entry_key(key)) <= token_cache.ENTRY_SECONDS


def test_the_cached_user_is_a_partial_row_that_loads_the_rest_when_touched(shopper):
    user = token_cache.lookup(Token.objects.get(user=shopper.user).key).user
    assert (user.pk, user.email, user.is_active, user.is_staff) == (shopper.user.pk, "ada@example.com", True, False)
    with count_database_cost() as cost:
        assert user.date_joined == shopper.user.date_joined
    assert len(cost.statements) == 1


def test_logout_revokes_on_the_next_request(shopper):
    assert shopper.delete("/api/v1/auth/token").status_code == 204
    _assert_refused(_me(shopper))
    assert not Token.objects.filter(user=shopper.user).exists()


def test_revoke_token_service_revokes_on_the_next_request(shopper):
    services.revoke_token(user=shopper.user)
    _assert_refused(_me(shopper))


def test_a_token_deleted_any_other_way_is_forgotten_too(shopper):
    Token.objects.filter(user=shopper.user).delete()
    _assert_refused(_me(shopper))


def test_a_deleted_user_is_forgotten(shopper):
    shopper.user.delete()
    _assert_refused(_me(shopper))


def test_password_change_revokes_the_token(shopper):
    services.change_password(user=shopper.user, password=NEW_PASSWORD)
    _assert_refused(_me(shopper))
    shopper.user.refresh_from_db()
    assert shopper.user.check_password(NEW_PASSWORD)
    assert not Token.objects.filter(user=shopper.user).exists()


def test_password_change_in_the_admin_revokes_the_token(shopper, admin_client):
    response = admin_client.post(
        f"/admin/accounts/user/{shopper.user.pk}/password/",
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content
    _assert_refused(_me(shopper))
    shopper.user.refresh_from_db()
    assert shopper.user.check_password(NEW_PASSWORD)


def test_password_disabled_in_the_admin_revokes_the_token(shopper, admin_client):
    response = admin_client.post(f"/admin/accounts/user/{shopper.user.pk}/password/", {"usable_password": "false", "unset-password": "1"})
    assert response.status_code == 302, response.content
    _assert_refused(_me(shopper))
    shopper.user.refresh_from_db()
    assert not shopper.user.has_usable_password()


def _admin_change(admin_client, user, **fields):
    data = {"email": user.email, "name": user.name, "is_active": "on", "_save": "Save", **fields}
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", {k: v for k, v in data.items() if v is not None})
    assert response.status_code == 302, response.content


def test_deactivated_in_the_admin_is_refused_on_the_next_request(shopper, admin_client):
    _admin_change(admin_client, shopper.user, is_active=None)
    _assert_refused(_me(shopper))


def test_deactivated_by_a_plain_save_is_refused_on_the_next_request(shopper):
    shopper.user.is_active = False
    shopper.user.save()
    _assert_refused(_me(shopper))


def test_made_staff_in_the_admin_shows_on_the_next_request_and_back(shopper, admin_client):
    _admin_change(admin_client, shopper.user, is_staff="on")
    assert _me(shopper).json()["is_staff"] is True
    assert shopper.post("/api/v1/staff/products", {}, format="json").status_code == 400  # past the permission check
    _admin_change(admin_client, shopper.user)
    assert _me(shopper).json()["is_staff"] is False
    assert shopper.post("/api/v1/staff/products", {}, format="json").status_code == 403


@pytest.mark.parametrize("field, value", [("name", "Grace"), ("email", "grace@example.com"), ("is_staff", True)])
def test_what_me_shows_is_read_again_after_a_save(shopper, field, value):
    setattr(shopper.user, field, value)
    shopper.user.save(update_fields=[field])
    assert _me(shopper).json()[field] == value


def test_a_login_time_update_keeps_the_entry(shopper):
    shopper.user.save(update_fields=["last_login"])
    assert _cached(shopper)


def test_a_change_rolled_back_leaves_the_token_working(shopper):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.revoke_token(user=shopper.user)
        raise RuntimeError("rolled back")
    assert _me(shopper).status_code == 200


def test_a_read_that_raced_a_revocation_is_not_stored():
    """A reader looked the token up (a miss) and read the row just before the revocation committed:
    what it then stores must not bring the token back."""
    user = UserFactory()
    key = Token.objects.create(user=user).key
    before = token_cache.lookup(key)
    assert before.user is None
    services.revoke_token(user=user)
    token_cache.store(key, user=user, generation=before.generation)
    assert token_cache.lookup(key).user is None
    _assert_refused(_me_with_key(key))


def test_inactive_users_are_never_cached():
    user = UserFactory(is_active=False)
    key = Token.objects.create(user=user).key
    _assert_refused(_me_with_key(key))
    assert get_redis_connection("default").exists(_entry_key(key)) == 0


def test_unknown_token_is_refused():
    _assert_refused(_me_with_key("0" * 40))


@override_settings(CACHES=REDIS_DOWN)
def test_redis_down_authenticates_from_the_database_and_revokes_too():
    client = token_client(UserFactory())
    with count_database_cost() as cost:
        assert _me(client).status_code == 200
    assert len(cost.statements) == 1 and "authtoken_token" in cost.statements[0]
    assert _me(client).status_code == 200
    services.revoke_token(user=client.user)
    _assert_refused(_me(client))
