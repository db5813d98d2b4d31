import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
GOOD_PASSWORD = "plum-orchard-lantern-42"


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _signup(client, **data):
    return client.post("/api/v1/auth/signup", {"email": "ada@example.com", "password": GOOD_PASSWORD, "name": "Ada", **data}, format="json")


# --- Sign-up ---------------------------------------------------------------------------------


def test_signup_returns_the_user_and_a_working_token(api_client):
    response = _signup(api_client, email="  Ada@Example.COM ")
    assert response.status_code == 201
    body = response.json()
    user = User.objects.get()
    assert body == {"user": {"id": user.pk, "email": "ada@example.com", "name": "Ada", "is_staff": False}, "token": body["token"]}
    assert user.check_password(GOOD_PASSWORD)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert client.get("/api/v1/me").json()["email"] == "ada@example.com"


def test_signup_without_a_name(api_client):
    response = api_client.post("/api/v1/auth/signup", {"email": "b@example.com", "password": GOOD_PASSWORD}, format="json")
    assert response.status_code == 201
    assert response.json()["user"]["name"] == ""


def test_duplicate_email_is_400_whatever_the_case(api_client):
    UserFactory(email="ada@example.com", name="First")
    error = _error(_signup(api_client, email="ADA@example.com"), 400, "VALIDATION_ERROR")
    assert "email" in error["details"]
    assert list(User.objects.values_list("name", flat=True)) == ["First"]
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    "password",
    ["short1", "password123", "1234567890123", "ada@example.com"],
    ids=["too-short", "common", "numeric", "like-the-email"],
)
def test_password_refused_by_django_validators(api_client, password):
    error = _error(_signup(api_client, password=password), 400, "VALIDATION_ERROR")
    assert error["details"]["password"]
    assert all(isinstance(message, str) for message in error["details"]["password"])
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"password": ""}, "password"),
        ({"name": "x" * 151}, "name"),
    ],
)
def test_signup_field_errors(api_client, data, field):
    error = _error(_signup(api_client, **data), 400, "VALIDATION_ERROR")
    assert field in error["details"]
    assert not User.objects.exists()


def test_signup_with_missing_fields(api_client):
    error = _error(api_client.post("/api/v1/auth/signup", {}, format="json"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"email", "password"}


def test_signup_ignores_a_stale_session_or_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token expired-token")
    assert _signup(api_client).status_code == 201


def test_signup_only_accepts_post(api_client):
    _error(api_client.get("/api/v1/auth/signup"), 405, "METHOD_NOT_ALLOWED")


# --- Token -----------------------------------------------------------------------------------


def test_token_for_good_credentials_is_stable(api_client, user):
    first = api_client.post("/api/v1/auth/token", {"email": user.email.upper(), "password": DEFAULT_PASSWORD}, format="json")
    assert first.status_code == 200
    assert set(first.json()) == {"token"}
    second = api_client.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    assert second.json()["token"] == first.json()["token"] == Token.objects.get(user=user).key


@pytest.mark.parametrize("email, password", [("shopper@example.com", "wrong-password"), ("nobody@example.com", DEFAULT_PASSWORD)])
def test_wrong_credentials_are_401_invalid_credentials(api_client, email, password):
    UserFactory(email="shopper@example.com")
    response = api_client.post("/api/v1/auth/token", {"email": email, "password": password}, format="json")
    _error(response, 401, "INVALID_CREDENTIALS")
    assert response["WWW-Authenticate"]
    assert not Token.objects.exists()


def test_inactive_user_gets_no_token(api_client):
    user = UserFactory(is_active=False)
    response = api_client.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    _error(response, 401, "INVALID_CREDENTIALS")


def test_token_request_with_missing_fields(api_client):
    error = _error(api_client.post("/api/v1/auth/token", {"email": "a@example.com"}, format="json"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"password"}


def test_delete_token_revokes_it(api_client, user):
    key = Token.objects.create(user=user).key
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/me").status_code == 200
    assert api_client.delete("/api/v1/auth/token").status_code == 204
    assert not Token.objects.filter(user=user).exists()
    _error(api_client.get("/api/v1/me"), 401, "INVALID_CREDENTIALS")


def test_delete_token_needs_authentication(api_client):
    _error(api_client.delete("/api/v1/auth/token"), 401, "NOT_AUTHENTICATED")


def test_login_attempts_are_throttled(api_client, user):
    bad = {"email": user.email, "password": "guess"}
    for _ in range(10):
        _error(api_client.post("/api/v1/auth/token", bad, format="json"), 401, "INVALID_CREDENTIALS")
    response = api_client.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    error = _error(response, 429, "THROTTLED")
    assert 0 < int(response["Retry-After"]) <= 60
    assert error["details"]["retry_after"] == int(response["Retry-After"])
    assert not Token.objects.exists()


def test_the_throttle_counts_per_client_address(user):
    bad = {"email": user.email, "password": "guess"}
    first, second = APIClient(REMOTE_ADDR="10.0.0.1"), APIClient(REMOTE_ADDR="10.0.0.2")
    for _ in range(10):
        first.post("/api/v1/auth/token", bad, format="json")
    assert first.post("/api/v1/auth/token", bad, format="json").status_code == 429
    assert second.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json").status_code == 200


def test_revoking_is_not_throttled_by_login_attempts(user):
    client = APIClient()
    for _ in range(11):
        client.post("/api/v1/auth/token", {"email": user.email, "password": "guess"}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.delete("/api/v1/auth/token").status_code == 204


# --- Me --------------------------------------------------------------------------------------


def test_me(auth_client):
    user = auth_client.user
    assert auth_client.get("/api/v1/me").json() == {"id": user.pk, "email": user.email, "name": user.name, "is_staff": False}


def test_me_for_staff(staff_client):
    assert staff_client.get("/api/v1/me").json()["is_staff"] is True


def test_me_with_the_session_of_the_web_pages(client, user):
    client.force_login(user)
    assert client.get("/api/v1/me").json()["id"] == user.pk


def test_me_needs_authentication(api_client):
    response = api_client.get("/api/v1/me")
    _error(response, 401, "NOT_AUTHENTICATED")
    assert response["WWW-Authenticate"].startswith("Token")


def test_behind_a_proxy_the_throttle_counts_per_forwarded_client(settings, user):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    bad = {"email": user.email, "password": "guess"}
    first = APIClient(REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = APIClient(REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="203.0.113.2")
    for _ in range(10):
        first.post("/api/v1/auth/token", bad, format="json")
    assert first.post("/api/v1/auth/token", bad, format="json").status_code == 429
    assert second.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json").status_code == 200
