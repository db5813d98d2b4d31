"""The cache and sessions: Redis when REDIS_URL is set, else a per-process cache (embedded default).

Redis is an accelerator, never the only copy: when it is down, cache reads miss and writes are
dropped (logged), sessions are read from the database (cached_db), and the shop keeps selling.
"""

from config.settings.components import env

REDIS_URL = env("REDIS_URL", default="")
REDIS_CONNECT_TIMEOUT_SECONDS = env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=0.5)
REDIS_SOCKET_TIMEOUT_SECONDS = env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=1.0)


def redis_cache(location: str) -> dict:
    """The django-redis cache the shop runs on: short timeouts, failures ignored (and logged)."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": location,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="flashcart"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": REDIS_CONNECT_TIMEOUT_SECONDS,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
            "IGNORE_EXCEPTIONS": True,
        },
    }


if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL)}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Each ignored failure is logged (logger django_redis.cache), so an outage is visible.
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
