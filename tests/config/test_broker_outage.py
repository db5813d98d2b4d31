"""The Celery worker survives a broker outage and resumes by itself (issue 11, defect 3).

A real worker process consumes from a Redis server of the test's own; the server is killed with
SIGKILL mid-run and started again, and the same worker, never restarted, then runs a task.
"""

import os
import signal
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.outbox.models import OutboxEvent

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"
PURGE_TASK = "apps.outbox.tasks.purge_sent_events"
RELAY_TASK = "apps.outbox.tasks.relay_outbox"


def _old_sent_event(aggregate_id: str) -> OutboxEvent:
    """An event retention may delete at once: sent long ago, of a type no internal consumer reads."""
    sent_at = timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS + 1)
    return OutboxEvent.objects.create(
        type="wallet.adjusted", aggregate_type="wallets.wallet", aggregate_id=aggregate_id, status=OutboxEvent.Status.SENT, sent_at=sent_at
    )


def _wait_until(predicate, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _send(broker_url: str, task_name: str) -> None:
    """Queue a task by name from a fresh client, as a web process does after the broker is back."""
    client = Celery(broker=broker_url, set_as_current=False)
    try:
        client.send_task(task_name)
    finally:
        client.close()


@pytest.fixture
def silent_platform():
    """A data platform that accepts connections and never answers: a relay run holds its task
    (unacknowledged, acks_late) for DATA_PLATFORM_TIMEOUT_SECONDS."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/events"


@pytest.fixture
def worker(own_redis, silent_platform, tmp_path):
    """`celery -A config worker` (prefork, as deployed) on the test's own Redis and database."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"mysql://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "REDIS_URL": own_redis.url(1),
        "CELERY_BROKER_URL": own_redis.url(0),
        "DATA_PLATFORM_URL": silent_platform,
        "DATA_PLATFORM_TIMEOUT_SECONDS": "6",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(CELERY), "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "1", "--hostname", f"outage-{own_redis.port}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    process.log_path = log_path
    try:
        assert _wait_until(lambda: "ready." in log_path.read_text() or process.poll() is not None, seconds=60), log_path.read_text()
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.django_db(transaction=True)
def test_worker_survives_a_broker_kill_mid_task_and_runs_tasks_once_it_is_back(own_redis, worker):
    before = _old_sent_event("before")
    _send(own_redis.url(0), PURGE_TASK)
    assert _wait_until(lambda: not OutboxEvent.objects.filter(pk=before.pk).exists(), seconds=30), worker.log_path.read_text()

    # A relay run that hangs on the platform: its message is delivered and not yet acknowledged
    # when the broker dies.
    OutboxEvent.objects.create(type="order.paid", aggregate_type="orders.order", aggregate_id="in-flight")
    _send(own_redis.url(0), RELAY_TASK)
    assert _wait_until(lambda: f"{RELAY_TASK}[" in worker.log_path.read_text(), seconds=30), worker.log_path.read_text()
    time.sleep(1)
    own_redis.kill()
    # Long enough for the worker to notice the lost connection and try (and fail) to reconnect.
    time.sleep(5)
    assert worker.poll() is None, worker.log_path.read_text()
    own_redis.start()

    after = _old_sent_event("after")
    _send(own_redis.url(0), PURGE_TASK)
    ran = _wait_until(lambda: not OutboxEvent.objects.filter(pk=after.pk).exists(), seconds=60)
    log = worker.log_path.read_text()
    assert worker.poll() is None, log
    assert ran, log
    assert "Unrecoverable error" not in log
