import pytest

from apps.core import health
from config.celery import app as celery_app


class BrokenCache:
    def set(self, *args, **kwargs):
        return None

    def get(self, *args, **kwargs):
        return None

    def delete(self, *args, **kwargs):
        return None


@pytest.mark.django_db
def test_healthz_is_not_cached_and_answers_head(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_fails(client, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise RuntimeError("database is down")

    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "error", "cache": "ok"}}


@pytest.mark.django_db
def test_healthz_is_503_when_the_cache_does_not_give_back_what_was_stored(client, monkeypatch):
    monkeypatch.setattr(health, "cache", BrokenCache())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "error"}


@pytest.mark.django_db
def test_healthz_checks_the_broker_once_there_is_one(client, settings, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/2"
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:6379/2")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == "ok"

    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")  # nothing listens there
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "ok", "cache": "ok", "broker": "error"}}
