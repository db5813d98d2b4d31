"""GET /livez: the liveness probe (and the bench's floor) answers without any shared service."""

from django.core.cache import cache


def test_livez_answers_without_the_database_or_the_cache(client, settings):
    # No django_db mark: any query fails the test. The cache points where nothing listens.
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert client.head("/livez").status_code == 200
    assert client.post("/livez").status_code == 405


def test_the_dead_cache_of_the_livez_test_really_is_dead(settings):
    """Guards the test above: with that setting, a cache access does fail."""
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    try:
        cache.get("anything")
    except Exception as exc:  # redis' ConnectionError, whatever its wrapper
        assert "connect" in str(exc).lower() or "refused" in str(exc).lower()
    else:
        raise AssertionError("the cache answered although nothing listens on port 1")
