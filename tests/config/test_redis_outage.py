"""With Redis down the shop keeps serving from the database (issue 11, defect 4, configuration):
the cache as configured (config/settings/components/cache.py) on a Redis server of the test's own,
killed with SIGKILL."""

import logging

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client

from config.settings.components.cache import redis_cache
from tests.factories import DEFAULT_PASSWORD


@pytest.fixture
def cache_on_own_redis(settings, own_redis):
    settings.CACHES = {"default": redis_cache(own_redis.url(0))}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    return own_redis


@pytest.mark.django_db
def test_cache_reads_miss_and_writes_are_dropped_with_a_log_line(cache_on_own_redis, caplog):
    cache.set("greeting", "hello")
    assert cache.get("greeting") == "hello"
    cache_on_own_redis.kill()

    with caplog.at_level(logging.ERROR, logger="django_redis.cache"):
        assert cache.get("greeting", "database") == "database"
        cache.set("greeting", "again")
        assert cache.add("other", 1) is None

    assert len([record for record in caplog.records if record.name == "django_redis.cache"]) == 3


@pytest.mark.django_db
def test_a_session_started_before_the_outage_survives_it(cache_on_own_redis, user):
    client = Client()
    assert client.post("/accounts/login/", {"username": user.email, "password": DEFAULT_PASSWORD}).status_code == 302
    cache_on_own_redis.kill()

    for page in ("/orders/", "/wallet/"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert response.wsgi_request.user == user


@pytest.mark.django_db
def test_shoppers_log_in_and_browse_while_redis_is_down(cache_on_own_redis, user):
    cache_on_own_redis.kill()
    client = Client()

    response = client.post("/accounts/login/", {"username": user.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert int(client.session[SESSION_KEY]) == user.pk
    assert client.get("/orders/").status_code == 200


@pytest.mark.django_db
def test_healthz_answers_503_while_redis_is_down_and_200_once_it_is_back(cache_on_own_redis):
    client = Client()
    assert client.get("/healthz").status_code == 200
    cache_on_own_redis.kill()

    down = client.get("/healthz")

    assert down.status_code == 503
    assert down.json()["checks"]["cache"] == "error" and down.json()["checks"]["database"] == "ok"
    cache_on_own_redis.start()
    assert client.get("/healthz").status_code == 200
