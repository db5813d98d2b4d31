"""The test suite: real MariaDB/MySQL and Redis from the environment, with local defaults."""

import os

os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from config.settings.components.email import email_settings  # noqa: E402

from .base import *  # noqa: E402,F403
from .base import BASE_DIR, DATABASES, INSTALLED_APPS, env  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "apps.devtools"]  # as local settings do; never in production

# Several suites may share one server (parallel developers, CI): each picks its own test database.
DATABASES["default"].setdefault("TEST", {})["NAME"] = env("TEST_DATABASE_NAME", default="test_flashcart")
DATABASES["default"]["CONN_MAX_AGE"] = 0

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATA_PLATFORM_SECRET = "test-data-platform-secret"
METRICS_ALLOWED_IPS = ["127.0.0.1"]  # the test client scrapes /metrics as the monitoring system does
PG_SECRET = "test-pg-secret"
PG_URL = env("PG_URL", default="http://127.0.0.1:8001")
# Mail stays in memory (pytest-django does the same in-process); a test with a mail server sets EMAIL_URL.
globals().update(email_settings(env("EMAIL_URL", default="memorymail://")))
# Uploaded pictures written by tests (seed_demo, admin uploads) stay out of the development media folder.
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "test-media"))
