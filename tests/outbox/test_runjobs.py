import threading
import time
from datetime import timedelta

import pytest
from celery.schedules import crontab, schedule
from django.core.management import call_command
from django.db import connection

from apps.core.management.commands.runjobs import build_jobs, run_jobs
from apps.outbox.models import OutboxEvent
from tests.factories import UserFactory

RELAY = "apps.outbox.tasks.relay_outbox"


def test_every_beat_entry_names_a_registered_task(settings):
    jobs = build_jobs(settings.CELERY_BEAT_SCHEDULE)
    assert [job.name for job in jobs] == list(settings.CELERY_BEAT_SCHEDULE)
    assert {"outbox-relay", "outbox-purge-sent"} <= {job.name for job in jobs}


def test_schedules_may_be_seconds_timedeltas_or_celery_schedules(caplog):
    jobs = build_jobs(
        {
            "seconds": {"task": RELAY, "schedule": 5.0},
            "timedelta": {"task": RELAY, "schedule": timedelta(minutes=2)},
            "schedule": {"task": RELAY, "schedule": schedule(timedelta(hours=1))},
            "crontab": {"task": RELAY, "schedule": crontab(minute=0)},
            "unknown": {"task": "apps.nowhere.tasks.nothing", "schedule": 1},
        }
    )
    intervals = {job.name: getattr(job.schedule, "run_every", None) for job in jobs}
    assert intervals == {
        "seconds": timedelta(seconds=5),
        "timedelta": timedelta(minutes=2),
        "schedule": timedelta(hours=1),
        "crontab": None,
    }
    assert isinstance(jobs[3].schedule, crontab)
    assert "task apps.nowhere.tasks.nothing is not registered" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_runjobs_once_runs_the_relay(platform, settings, make_event):
    settings.DATA_PLATFORM_URL = ""  # keep publish's own trigger from delivering first
    event = make_event(UserFactory())
    settings.DATA_PLATFORM_URL = platform.url
    settings.CELERY_BEAT_SCHEDULE = {"outbox-relay": {"task": RELAY, "schedule": 3600}}

    call_command("runjobs", "--once")

    assert [body["id"] for body in platform.received] == [str(event.event_id)]
    assert OutboxEvent.objects.get(pk=event.pk).status == OutboxEvent.Status.SENT


@pytest.mark.django_db(transaction=True)
def test_run_jobs_plays_the_schedule_until_stopped(platform, settings, make_event):
    settings.DATA_PLATFORM_URL = ""
    jobs = build_jobs({"outbox-relay": {"task": RELAY, "schedule": 0.1}})
    stop = threading.Event()

    def runner():
        try:
            run_jobs(jobs, stop=stop)
        finally:
            connection.close()

    thread = threading.Thread(target=runner)
    thread.start()
    try:
        events = []
        for _ in range(3):  # each one published after the previous was swept up
            events.append(make_event(UserFactory()))
            settings.DATA_PLATFORM_URL = platform.url
            deadline = time.monotonic() + 10
            while len(platform.received) < len(events) and time.monotonic() < deadline:
                time.sleep(0.02)
            settings.DATA_PLATFORM_URL = ""
    finally:
        stop.set()
        thread.join(timeout=5)

    assert not thread.is_alive()
    assert [body["id"] for body in platform.received] == [str(event.event_id) for event in events]
