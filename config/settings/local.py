"""Development on one machine: `make run`. DEBUG on, everything embedded unless the env says otherwise."""

from config.settings.components.email import email_settings

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env

INSTALLED_APPS = [*INSTALLED_APPS, "apps.devtools"]  # development only: never in production

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="insecure-development-key")

DATA_PLATFORM_URL = env("DATA_PLATFORM_URL", default="http://127.0.0.1:8000/dev/data-platform/events")
DATA_PLATFORM_SECRET = env("DATA_PLATFORM_SECRET", default="development-secret")
PG_URL = env("PG_URL", default="http://127.0.0.1:8001")
PG_SECRET = env("PG_SECRET", default="development-pg-secret")
# Sent mails land as files in var/mail/, listed at /dev/mailbox/: no mail server needed.
globals().update(email_settings(env("EMAIL_URL", default="filemail:///var/mail")))
