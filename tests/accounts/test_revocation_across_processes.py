"""Token revocation is immediate on another process: a real gunicorn server (production settings, this
test database, the suite's Redis) answers GET /api/v1/me from its token cache; the token is revoked or
the user changed here, in the test process, and the server's very next answer reflects it."""

import time

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from django_redis import get_redis_connection
from rest_framework.authtoken.models import Token

from apps.accounts import services
from tests.accounts.test_token_cache import NEW_PASSWORD, _entry_key
from tests.factories import UserFactory
from tests.nodes.cluster import Server, node_environment

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    node = Server("web", env=node_environment(data_platform_url="http://127.0.0.1:9/events"), log_dir=tmp_path_factory.mktemp("web"), workers=2)
    try:
        node.wait_ready(time.monotonic() + 90)
        yield node
    finally:
        node.stop()


def _me(server, key: str) -> requests.Response:
    return requests.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Token {key}"}, timeout=10)


@pytest.fixture
def signed_in(server):
    """A user whose token the server has already cached, proven by a change the cache is not told about."""
    user = UserFactory(name="Before")
    key = Token.objects.create(user=user).key
    assert _me(server, key).json()["name"] == "Before", server.log()[-3000:]
    assert get_redis_connection("default").exists(_entry_key(key)) == 1
    User.objects.filter(pk=user.pk).update(name="Unannounced")  # a queryset update sends no signal
    for _ in range(4):  # whichever worker answers, it answers from the cache
        assert _me(server, key).json()["name"] == "Before"
    return user, key


def _assert_refused(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_a_deleted_token_is_refused_on_the_next_request(server, signed_in):
    user, key = signed_in
    services.revoke_token(user=user)
    _assert_refused(_me(server, key))


def test_a_changed_password_is_refused_on_the_next_request(server, signed_in):
    user, key = signed_in
    services.change_password(user=user, password=NEW_PASSWORD)
    _assert_refused(_me(server, key))


def test_a_deactivated_user_is_refused_on_the_next_request(server, signed_in):
    user, key = signed_in
    user.is_active = False
    user.save(update_fields=["is_active"])
    _assert_refused(_me(server, key))


def test_staff_status_changed_in_the_admin_shows_on_the_next_request(server, signed_in):
    user, key = signed_in
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    def change(**fields):
        user.refresh_from_db()
        data = {"email": user.email, "name": user.name, "is_active": "on", "_save": "Save", **fields}
        assert admin.post(f"/admin/accounts/user/{user.pk}/change/", data).status_code == 302

    change(is_staff="on")
    assert _me(server, key).json() == {"id": user.pk, "email": user.email, "name": "Unannounced", "is_staff": True}
    change()
    assert _me(server, key).json()["is_staff"] is False
