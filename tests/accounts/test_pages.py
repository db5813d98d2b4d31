import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
GOOD_PASSWORD = "plum-orchard-lantern-42"


def _signup_data(**overrides):
    return {"name": "Ada", "email": "ada@example.com", "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD, **overrides}


# --- Sign-up ---------------------------------------------------------------------------------


def test_signup_page_renders(client):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="/accounts/signup/"' in html and 'name="password_again"' in html and "csrfmiddlewaretoken" in html


def test_signup_creates_the_account_and_logs_in(client):
    response = client.post("/accounts/signup/", _signup_data(email="Ada@Example.com"))
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get()
    assert user.email == "ada@example.com" and user.name == "Ada"
    assert client.get("/api/v1/me").json()["id"] == user.pk
    assert "Welcome to Flashcart" in client.get("/").content.decode()


def test_signup_goes_to_a_safe_next_page(client):
    response = client.post("/accounts/signup/", {**_signup_data(), "next": "/products/"})
    assert response["Location"] == "/products/"


def test_signup_ignores_an_unsafe_next_page(client):
    response = client.post("/accounts/signup/", {**_signup_data(), "next": "https://evil.example.com/"})
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"password": "short", "password_again": "short"}, "This password is too short"),
        ({"password": "password123", "password_again": "password123"}, "This password is too common"),
        ({"password_again": "something-else-entirely"}, "The two passwords are not the same"),
        ({"email": "not-an-email"}, "Enter a valid email address"),
    ],
)
def test_signup_errors_keep_what_was_typed(client, overrides, message):
    response = client.post("/accounts/signup/", _signup_data(**overrides))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'value="Ada"' in html
    assert not User.objects.exists()


def test_signup_with_an_email_already_taken(client):
    UserFactory(email="ada@example.com")
    response = client.post("/accounts/signup/", _signup_data(email="ADA@example.com"))
    assert "An account with this e-mail address already exists." in response.content.decode()
    assert User.objects.count() == 1


def test_signed_in_visitor_is_sent_home_from_signup(client, user):
    client.force_login(user)
    assert client.get("/accounts/signup/")["Location"] == "/"


# --- Log in and out --------------------------------------------------------------------------


def test_login_page_renders(client):
    response = client.get("/accounts/login/?next=/cart/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html and 'value="/cart/"' in html


def test_login_and_redirect_to_next(client, user):
    response = client.post("/accounts/login/", {"username": user.email.upper(), "password": DEFAULT_PASSWORD, "next": "/cart/"})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert client.get("/api/v1/me").json()["id"] == user.pk


def test_login_with_a_wrong_password_says_so_and_keeps_the_email(client, user):
    response = client.post("/accounts/login/", {"username": user.email, "password": "nope"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "The e-mail address or password is not correct." in html
    assert f'value="{user.email}"' in html
    assert "_auth_user_id" not in client.session


def test_login_page_is_throttled_with_a_plain_message(client, user):
    for _ in range(10):
        client.post("/accounts/login/", {"username": user.email, "password": "guess"})
    response = client.post("/accounts/login/", {"username": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "Too many login attempts" in html
    assert f'value="{user.email}"' in html
    assert "_auth_user_id" not in client.session


def test_api_and_login_page_share_one_limit(client, api_client, user):
    for _ in range(5):
        client.post("/accounts/login/", {"username": user.email, "password": "guess"})
    for _ in range(5):
        api_client.post("/api/v1/auth/token", {"email": user.email, "password": "guess"}, format="json")
    assert client.post("/accounts/login/", {"username": user.email, "password": DEFAULT_PASSWORD}).status_code == 429
    assert api_client.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json").status_code == 429


def test_logout_is_post_only(client, user):
    client.force_login(user)
    page = client.get("/accounts/logout/")
    assert page.status_code == 200 and 'action="/accounts/logout/"' in page.content.decode()
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "_auth_user_id" not in client.session
    assert "You are logged out." in client.get("/").content.decode()


def test_logout_form_in_the_navigation_checks_csrf(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/accounts/logout/").status_code == 403
    html = client.get("/").content.decode()
    assert 'action="/accounts/logout/" method="post"' in html
    token = client.cookies["csrftoken"].value
    assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302


# --- Admin -----------------------------------------------------------------------------------


@pytest.fixture
def admin_client_for_email(db):
    admin = User.objects.create_superuser(email="root@example.com", password="x-admin-pass-1")
    client = Client()
    client.force_login(admin)
    return client


def test_user_admin_lists_and_searches(admin_client_for_email):
    UserFactory(email="findme@example.com")
    response = admin_client_for_email.get("/admin/accounts/user/?q=findme")
    assert response.status_code == 200
    assert "findme@example.com" in response.content.decode()


def test_user_admin_adds_a_user_with_an_email(admin_client_for_email):
    response = admin_client_for_email.post(
        "/admin/accounts/user/add/",
        {"email": "New@Example.com", "name": "New", "usable_password": "true", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new@example.com")
    assert user.check_password(GOOD_PASSWORD)


def test_user_admin_change_page(admin_client_for_email):
    user = UserFactory()
    assert admin_client_for_email.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200
