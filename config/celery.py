"""The Celery app: settings from Django's (the CELERY_* names), tasks from every app's tasks.py.

Worker: `celery -A config worker`; exactly one `celery -A config beat` plays CELERY_BEAT_SCHEDULE.
Without CELERY_BROKER_URL (the embedded default) tasks run eagerly in-process and
`manage.py runjobs` plays the schedule instead.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("flashcart")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
