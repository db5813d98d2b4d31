"""ASGI entry point. Production settings unless DJANGO_SETTINGS_MODULE says otherwise:
development settings are opt-in (`manage.py` and `make run` choose them)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_asgi_application()
