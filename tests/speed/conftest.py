import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.celery import app as celery_app


def _forget_broker_connections():
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def queued_tasks():
    """Tasks triggered on commit are queued on the suite's Redis, as a web process does in production,
    instead of running eagerly in this process (their queries belong to a worker, not to the request)."""
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=settings.REDIS_URL, task_always_eager=False)
    _forget_broker_connections()
    try:
        yield
    finally:
        celery_app.conf.update(saved)
        _forget_broker_connections()


def token_client(user) -> APIClient:
    """A mobile client: `Authorization: Token <key>`, authenticated by the API's own classes (no force_authenticate)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    client.user = user
    return client
