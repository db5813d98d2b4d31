"""Per-client throttles on signing in and up (issue 11, defects 5, 6 and 13) and their fail-open rule."""

import logging

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.settings.components.cache import redis_cache
from tests.config.redis_server import RedisServer
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "plum-orchard-lantern-42"


def _signup_body(number: int) -> dict:
    return {"email": f"farm{number}@example.com", "password": GOOD_PASSWORD, "name": "Farm"}


# --- Client identity (defect 5) -------------------------------------------------------------


def test_without_trusted_proxies_x_forwarded_for_is_ignored():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0


def test_rotating_x_forwarded_for_does_not_bypass_the_login_throttle(user):
    bad = {"email": user.email, "password": "guess"}
    statuses = [
        APIClient(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").post("/api/v1/auth/token", bad, format="json").status_code
        for n in range(40)
    ]
    assert statuses == [401] * 10 + [429] * 30
    right = {"email": user.email, "password": DEFAULT_PASSWORD}
    assert APIClient(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.250").post("/api/v1/auth/token", right, format="json").status_code == 429
    assert not Token.objects.exists()


# --- The admin's login (defect 6) -----------------------------------------------------------


def test_admin_login_is_throttled_and_then_refuses_even_the_right_password():
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client(REMOTE_ADDR="198.51.100.8")
    for _ in range(10):
        response = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": "guess"})
        assert response.status_code == 200 and SESSION_KEY not in client.session

    response = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "Too many login attempts from your connection" in response.content.decode()
    assert staff.email in response.content.decode()  # the e-mail is kept, the password is not checked
    assert SESSION_KEY not in client.session
    assert client.get("/admin/").status_code == 302  # still not logged in
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert other.post("/admin/login/?next=/admin/", {"username": staff.email, "password": DEFAULT_PASSWORD}).status_code == 302
    assert other.get("/admin/").status_code == 200


def test_the_admin_and_the_shop_share_one_login_budget(user):
    client = Client(REMOTE_ADDR="198.51.100.10")
    for _ in range(10):
        client.post("/accounts/login/", {"username": user.email, "password": "guess"})
    assert client.post("/admin/login/", {"username": user.email, "password": "guess"}).status_code == 429


# --- Sign-ups (defect 13) -------------------------------------------------------------------


def test_signups_are_throttled_per_client_at_the_configured_rate(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "signup": "3/hour"}}
    farm = APIClient(REMOTE_ADDR="198.51.100.11")
    assert [farm.post("/api/v1/auth/signup", _signup_body(n), format="json").status_code for n in range(3)] == [201] * 3

    response = farm.post("/api/v1/auth/signup", _signup_body(3), format="json")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "THROTTLED"
    assert 0 < int(response["Retry-After"]) <= 3600
    assert APIClient(REMOTE_ADDR="198.51.100.12").post("/api/v1/auth/signup", _signup_body(4), format="json").status_code == 201


def test_the_signup_page_shares_the_signup_budget(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "signup": "2/hour"}}
    address = "198.51.100.13"
    assert APIClient(REMOTE_ADDR=address).post("/api/v1/auth/signup", _signup_body(0), format="json").status_code == 201
    assert APIClient(REMOTE_ADDR=address).post("/api/v1/auth/signup", _signup_body(1), format="json").status_code == 201
    page = Client(REMOTE_ADDR=address)
    data = {"name": "Farm", "email": "farm2@example.com", "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD}

    response = page.post("/accounts/signup/", data)

    assert response.status_code == 429
    assert "Too many sign-ups from your connection" in response.content.decode()
    assert "farm2@example.com" in response.content.decode()
    assert not UserFactory._meta.model.objects.filter(email="farm2@example.com").exists()


def test_the_signup_rate_defaults_to_the_documented_value():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["signup"] == "20/hour"


# --- Failing open (defect 4) ----------------------------------------------------------------


@pytest.fixture
def dead_cache(settings, tmp_path):
    """The default cache on a Redis server that has just been killed, failures not ignored: what a
    throttle sees from a cache that raises."""
    server = RedisServer(tmp_path)
    server.start()
    cache = redis_cache(server.url(0))
    cache["OPTIONS"]["IGNORE_EXCEPTIONS"] = False
    settings.CACHES = {"default": cache}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    server.kill()
    return server


def test_throttles_fail_open_with_a_warning_when_the_cache_raises(dead_cache, user, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.core.throttling"):
        token = APIClient().post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
        signup = APIClient().post("/api/v1/auth/signup", _signup_body(0), format="json")
        charge_client = APIClient()
        charge_client.force_authenticate(user=user)
        charge = charge_client.post("/api/v1/wallet/charge", {"amount": 100}, format="json")

    assert token.status_code == 200
    assert signup.status_code == 201
    assert charge.status_code != 500 and charge.status_code != 429
    scopes = {record.args[0] for record in caplog.records if record.name == "apps.core.throttling"}
    assert {"login", "signup", "wallet_charge"} <= scopes
