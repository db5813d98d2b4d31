import pytest
from celery import _state as celery_state
from django.core.cache import cache
from rest_framework.test import APIClient

from config.celery import app as celery_app
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _clear_cache():
    """Tests share one Redis: every test starts with an empty cache (and empty coupon gates)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _celery_state():
    """Eager tasks run in racing threads can leave Celery's process-wide "inside a task" flag set,
    which makes any later result.get() in the run refuse to block; and a test that points the app at
    a broker of its own leaves its connection and producer pools bound to that (stopped) broker even
    after it restores broker_url, or makes its own Celery() the current app. Every test starts
    with the project's app, clean."""
    celery_state._set_task_join_will_block(False)
    yield
    celery_state._set_task_join_will_block(False)
    # Dropped, not closed: kombu keeps one pool per broker URL and would hand a closed one back.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # A throwaway Celery() made by a test becomes the current app, which shared tasks then use.
    celery_app.set_current()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def auth_client(user):
    client = APIClient()
    client.force_authenticate(user=user)
    client.user = user
    return client


@pytest.fixture
def staff_client(staff_user):
    client = APIClient()
    client.force_authenticate(user=staff_user)
    client.user = staff_user
    return client


@pytest.fixture
def shopper_client(client, user):
    """A storefront browser logged in as `user` (also at `.user`)."""
    client.force_login(user)
    client.user = user
    return client
