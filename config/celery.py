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


@app.on_after_configure.connect
def _in_memory_broker_when_there_is_none(sender, source, **kwargs):
    """Eager tasks still take a producer from the pool: without a broker it is an in-memory one, so
    nothing reaches for an AMQP server on localhost (kombu's "No hostname was supplied" warning)."""
    if not source.broker_url:
        source.broker_url = "memory://localhost/"

app.autodiscover_tasks()
