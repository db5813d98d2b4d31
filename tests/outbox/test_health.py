import os
import socket
import time

import pytest

from config.celery import app as celery_app


@pytest.fixture
def broker(settings, monkeypatch):
    """Point /healthz's broker check at a URL. Celery reads the settings live, but a CELERY_BROKER_URL
    environment variable wins over them, so it is set too."""

    def use(url):
        settings.CELERY_BROKER_URL = url
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        assert celery_app.conf.broker_url == url

    return use


@pytest.mark.django_db
def test_healthz_is_ok_with_a_real_redis_broker(client, broker):
    broker(os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/4")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_refuses_connections(client, broker):
    broker("redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error"


@pytest.mark.django_db
def test_healthz_answers_503_within_seconds_when_the_broker_accepts_but_never_answers(client, broker):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the backlog; nothing is ever read or written
    try:
        broker(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error"
    assert elapsed < 10  # bounded by the check's 2 s socket timeouts, not hanging until a proxy gives up


@pytest.mark.django_db
def test_healthz_skips_the_broker_without_one(client, settings):
    settings.CELERY_BROKER_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "broker" not in response.json()["checks"]
