"""`manage.py runjobs`: plays settings.CELERY_BEAT_SCHEDULE in this process, for the embedded default.

Without a broker there is no worker and no beat: tasks triggered by requests run eagerly
(CELERY_TASK_ALWAYS_EAGER) and this command calls each periodic task's function locally on its
schedule (seconds, a timedelta or a celery schedule such as crontab), the way beat would send it.
With a broker, run `celery -A config worker` and `celery -A config beat` instead.
"""

import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from celery import Task
from celery.schedules import BaseSchedule, maybe_schedule
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from config.celery import app as celery_app

logger = logging.getLogger("apps.core.runjobs")

MAX_SLEEP_SECONDS = 1.0


@dataclass
class Job:
    name: str
    task: Task
    schedule: BaseSchedule
    args: tuple
    kwargs: dict
    last_run_at: datetime

    def run(self) -> None:
        close_old_connections()
        started = time.monotonic()
        try:
            self.task(*self.args, **self.kwargs)
        except Exception:  # one failing job must not stop the others; the next run tries again
            logger.exception("job %s failed", self.name)
        else:
            logger.debug("job %s done in %.3f s", self.name, time.monotonic() - started)
        finally:
            self.last_run_at = self.schedule.now()
            close_old_connections()


def build_jobs(schedule: dict) -> list[Job]:
    """One Job per beat entry whose task is registered; unknown tasks are logged and skipped."""
    celery_app.autodiscover_tasks(force=True)  # import every installed app's tasks.py now
    jobs = []
    for name, entry in schedule.items():
        task = celery_app.tasks.get(entry["task"])
        if task is None:
            logger.error("job %s skipped: task %s is not registered", name, entry["task"])
            continue
        job_schedule = maybe_schedule(entry["schedule"], app=celery_app)
        jobs.append(
            Job(
                name=name,
                task=task,
                schedule=job_schedule,
                args=tuple(entry.get("args", ())),
                kwargs=dict(entry.get("kwargs", {})),
                last_run_at=job_schedule.now(),
            )
        )
    return jobs


def run_jobs(jobs: list[Job], *, stop: threading.Event) -> None:
    """Run each job when its schedule says it is due, until `stop` is set. Like beat, the first run
    of a job comes one interval after start."""
    while not stop.is_set():
        wait = MAX_SLEEP_SECONDS
        for job in jobs:
            due, next_check = job.schedule.is_due(job.last_run_at)
            if due:
                job.run()
                if stop.is_set():
                    return
                due, next_check = job.schedule.is_due(job.last_run_at)
            wait = min(wait, max(next_check, 0.0))
        stop.wait(wait)


class Command(BaseCommand):
    help = "Run the periodic jobs of CELERY_BEAT_SCHEDULE in this process (for `make run`, where there is no beat)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every job once, now, and exit")

    def handle(self, *args, once: bool = False, **options):
        jobs = build_jobs(settings.CELERY_BEAT_SCHEDULE)
        if once:
            for job in jobs:
                job.run()
            return
        logger.debug("runjobs: %s", ", ".join(f"{job.name} ({job.schedule!r})" for job in jobs) or "no jobs")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        try:
            run_jobs(jobs, stop=stop)
        except KeyboardInterrupt:
            pass
        logger.info("runjobs: stopped")
