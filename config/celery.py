"""The Celery app: settings from Django's (the CELERY_* names), tasks from every app's tasks.py.

Worker: `celery -A config worker`; exactly one `celery -A config beat` plays CELERY_BEAT_SCHEDULE.
Without CELERY_BROKER_URL (the embedded default) tasks run eagerly in-process and
`manage.py runjobs` plays the schedule instead.
"""

import os

from celery import Celery

# Production settings unless told otherwise, like config.wsgi: this module is imported by the
# config package itself, so whatever default it sets is the one every entry point gets.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("flashcart")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
