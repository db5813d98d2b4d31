"""Settings shared by every environment, read from the process environment (and an optional .env).

Without DATABASE_URL / REDIS_URL / CELERY_BROKER_URL the project runs on the embedded default:
SQLite, local-memory cache and in-process background jobs. Every knob is listed in .env.example.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY") if not DEBUG else env("SECRET_KEY", default="insecure-development-key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_prometheus",
    "apps.core",
    "apps.accounts",
    "apps.catalog",
    "apps.outbox",
    "apps.wallets",
    "apps.coupons",
    "apps.cart",
    "apps.orders",
    "apps.rankings",
    "apps.payments",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.shop",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"charset": "utf8mb4", "isolation_level": "read committed"}
    )
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # IMMEDIATE: a transaction takes the write lock when it begins and waits for it (timeout), instead
    # of failing with "database is locked" when two processes (runserver and runjobs) upgrade at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions -------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="flashcart"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", default=300)

# --- Auth ----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation and money -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
CURRENCY = env("CURRENCY", default="USD")

# --- Static files --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- REST framework and OpenAPI -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "coupon_issue": env("THROTTLE_COUPON_ISSUE", default="600/min"),
        "wallet_charge": env("THROTTLE_WALLET_CHARGE", default="600/min"),
        "login": env("THROTTLE_LOGIN", default="10/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Reverse proxies in front of the app (1 behind docker compose's nginx): throttles then count
    # per client address from X-Forwarded-For instead of per proxy.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=None),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flashcart API",
    "DESCRIPTION": "Storefront, wallet, coupons and orders for Flashcart.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# --- Celery and background jobs -----------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# Without a broker (the embedded default) tasks run in-process, eagerly, and `manage.py runjobs`
# plays the beat schedule; see apps/outbox and the README.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300)}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {}

# --- Outbox and the data platform ---------------------------------------------------------------
DATA_PLATFORM_URL = env("DATA_PLATFORM_URL", default="")
DATA_PLATFORM_SECRET = env("DATA_PLATFORM_SECRET", default="")
DATA_PLATFORM_TIMEOUT_SECONDS = env.float("DATA_PLATFORM_TIMEOUT_SECONDS", default=5.0)
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=100)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
OUTBOX_BACKOFF_BASE_SECONDS = env.float("OUTBOX_BACKOFF_BASE_SECONDS", default=2.0)
OUTBOX_BACKOFF_CAP_SECONDS = env.float("OUTBOX_BACKOFF_CAP_SECONDS", default=600.0)
OUTBOX_SWEEP_SECONDS = env.float("OUTBOX_SWEEP_SECONDS", default=5.0)
OUTBOX_BREAKER_THRESHOLD = env.int("OUTBOX_BREAKER_THRESHOLD", default=5)
OUTBOX_BREAKER_COOLDOWN_SECONDS = env.float("OUTBOX_BREAKER_COOLDOWN_SECONDS", default=30.0)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=7)
# The sweep catches events whose on-commit trigger was lost; a sweep still queued when the next is
# due is dropped (expires), so a stopped worker does not come back to a pile of them.
CELERY_BEAT_SCHEDULE["outbox-relay"] = {
    "task": "apps.outbox.tasks.relay_outbox",
    "schedule": OUTBOX_SWEEP_SECONDS,
    "options": {"expires": OUTBOX_SWEEP_SECONDS},
}
CELERY_BEAT_SCHEDULE["outbox-purge-sent"] = {
    "task": "apps.outbox.tasks.purge_sent_events",
    "schedule": timedelta(hours=1),
}

# --- Wallets, coupons, idempotency --------------------------------------------------------------
WALLET_MAX_CHARGE = env.int("WALLET_MAX_CHARGE", default=1_000_000)
WALLET_MAX_BALANCE = env.int("WALLET_MAX_BALANCE", default=100_000_000)
WALLET_MAX_RETRIES = env.int("WALLET_MAX_RETRIES", default=10)
COUPON_REDIS_GATE = env.bool("COUPON_REDIS_GATE", default=True)
COUPON_DEFAULT_VALID_DAYS = env.int("COUPON_DEFAULT_VALID_DAYS", default=30)
# The Redis gate is rebuilt from the database at least this often, so any drift heals by itself.
COUPON_GATE_TTL_SECONDS = env.int("COUPON_GATE_TTL_SECONDS", default=600)
COUPON_EXPIRE_INTERVAL_SECONDS = env.float("COUPON_EXPIRE_INTERVAL_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE["coupons-expire-user-coupons"] = {
    "task": "apps.coupons.tasks.expire_user_coupons",
    "schedule": COUPON_EXPIRE_INTERVAL_SECONDS,
}
IDEMPOTENCY_TTL = timedelta(hours=env.int("IDEMPOTENCY_TTL_HOURS", default=24))
CELERY_BEAT_SCHEDULE["core-purge-idempotency-keys"] = {
    "task": "apps.core.tasks.purge_expired_idempotency_keys",
    "schedule": timedelta(hours=1),
}

# --- Cart and orders ----------------------------------------------------------------------------
ORDER_MAX_LINE_QUANTITY = env.int("ORDER_MAX_LINE_QUANTITY", default=1000)
ORDER_MAX_LINES = env.int("ORDER_MAX_LINES", default=100)
ORDER_LOCK_RETRIES = env.int("ORDER_LOCK_RETRIES", default=5)

# --- Rankings -----------------------------------------------------------------------------------
RANKINGS_INTERVAL_SECONDS = env.float("RANKINGS_INTERVAL_SECONDS", default=60.0)
RANKINGS_WINDOWS = [1, 3, 7, 30]
# Each run re-reads orders changed this long before its watermark: longer than any order transaction
# plus clock skew between app servers, so rows that committed late are still seen.
RANKINGS_OVERLAP_SECONDS = env.float("RANKINGS_OVERLAP_SECONDS", default=120.0)
RANKINGS_BATCH_SIZE = env.int("RANKINGS_BATCH_SIZE", default=1000)
RANKINGS_LOCK_SECONDS = env.int("RANKINGS_LOCK_SECONDS", default=600)
CELERY_BEAT_SCHEDULE["rankings-aggregate-sales"] = {
    "task": "apps.rankings.tasks.aggregate_sales",
    "schedule": RANKINGS_INTERVAL_SECONDS,
}

# --- Logging ------------------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "apps.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_JSON else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
