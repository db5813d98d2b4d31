"""Fixtures of the fault suite: servers of the test's own, app processes pointed at them, a report table.

Every process a test starts is stopped when it ends, whatever happened, before pytest-django
flushes the test database.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.faults.backends import FaultyLink, MariaDBServer, RedisServer
from tests.nodes.cluster import ROOT, Beat, Node, Server, Worker, node_environment
from tests.receiver import EventReceiver

# Relaying tuned so that an outage of seconds shows its whole story: swept every second, retried
# quickly, dead after a few attempts. Beat's other jobs stay out of the way.
FAST_OUTBOX = {
    "OUTBOX_SWEEP_SECONDS": "1",
    "OUTBOX_BACKOFF_BASE_SECONDS": "0.1",
    "OUTBOX_BACKOFF_CAP_SECONDS": "0.5",
    "OUTBOX_BREAKER_COOLDOWN_SECONDS": "1",
    "DATA_PLATFORM_TIMEOUT_SECONDS": "2",
    "RANKINGS_INTERVAL_SECONDS": "3600",
    "COUPON_EXPIRE_INTERVAL_SECONDS": "3600",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults/" in item.nodeid:
            item.add_marker(pytest.mark.faults)


class Nodes:
    """Starts app processes (gunicorn, Celery worker, beat) for one test and stops them all at its end."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Node] = []

    def start(
        self, env: dict[str, str], *, servers: int = 1, workers: int = 1, beat: bool = True, web_workers: int = 3, supervised: bool = False
    ) -> tuple[list[Server], list[Worker]]:
        new: list[Node] = []
        index = len(self.started)
        web = [Server(f"web{index + i}", env=env, log_dir=self.log_dir, workers=web_workers) for i in range(servers)]
        new += web
        celery = [Worker(f"worker{index + i}", env=env, log_dir=self.log_dir, supervised=supervised) for i in range(workers)]
        new += celery
        if beat:
            new.append(Beat(f"beat{index}", env=env, log_dir=self.log_dir))
        self.started += new
        deadline = time.monotonic() + 90
        for node in new:
            node.wait_ready(deadline)
        return web, celery

    def logs(self) -> str:
        return "\n".join(f"--- {node.name}\n{node.log()[-4000:]}" for node in self.started)

    def stop(self) -> None:
        """Stop every node at once (each waits out its own grace period)."""
        with ThreadPoolExecutor(max_workers=max(1, len(self.started))) as pool:
            list(pool.map(lambda node: node.stop(), self.started))


@pytest.fixture
def nodes(transactional_db, tmp_path):
    started = Nodes(tmp_path)
    try:
        yield started
    finally:
        started.stop()


# Django's manifest storage writes the manifest production's storage reads (whitenoise's subclass),
# without compressing every file, which the tests do not need and which takes most of a minute.
_COLLECT_STATIC = """
import django
django.setup()
from django.core.management import call_command
from django.test import override_settings
storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
with override_settings(STORAGES=storages):
    call_command("collectstatic", interactive=False, verbosity=0)
"""


@pytest.fixture(scope="session")
def collected_static():
    """Production serves pages with hashed static file names: collect them once, as the image build does."""
    env = node_environment(data_platform_url="")
    subprocess.run([sys.executable, "-c", _COLLECT_STATIC], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(log_dir=tmp_path)
    yield server
    server.stop()


class DataPlatform:
    """The data platform's stand-in (tests/receiver.py) behind a link the test cuts, restores or slows."""

    def __init__(self):
        self.receiver = EventReceiver(secret=settings.DATA_PLATFORM_SECRET)
        self.link = FaultyLink(upstream_port=self.receiver.server.server_port)
        self.url = f"http://127.0.0.1:{self.link.port}/events"

    def down(self) -> None:
        self.link.down()

    def up(self) -> None:
        self.link.up()

    @property
    def latency(self) -> float:
        return self.link.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.link.latency = seconds

    def close(self) -> None:
        self.link.close()
        self.receiver.close()


@pytest.fixture
def data_platform():
    platform = DataPlatform()
    yield platform
    platform.close()


@pytest.fixture
def own_database(transactional_db):
    """A MariaDB server of the test's own, migrated, with this process's connection pointed at it.

    The default connection's settings (shared by every thread's connection) are switched to the
    new server for the test and switched back before pytest-django flushes the real test database.
    """
    server = MariaDBServer()
    db = connection.settings_dict
    saved = {key: db[key] for key in ("HOST", "PORT", "USER", "PASSWORD")}
    try:
        server.create_database(db["NAME"])
        url = server.url(db["NAME"])
        env = node_environment(data_platform_url="", database_url=url)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
        connection.close()
        db.update({"HOST": "127.0.0.1", "PORT": str(server.port), "USER": "root", "PASSWORD": ""})
        server.database_url = url
        yield server
    finally:
        connection.close()
        db.update(saved)
        server.close()


_ROWS: dict[str, dict] = {}
_OUTCOMES: dict[str, str] = {}


@pytest.fixture
def fault_report(request):
    """What a fault test measured (filled as it goes, so a failing test shows it too): a row of the
    table printed at the end of the run."""
    row: dict = {}
    _ROWS[request.node.nodeid] = row
    return row


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _OUTCOMES[report.nodeid] = "xfailed" if hasattr(report, "wasxfail") and report.skipped else report.outcome


def pytest_terminal_summary(terminalreporter):
    rows = [(nodeid, row) for nodeid, row in _ROWS.items() if row]
    if not rows:
        return
    terminalreporter.section("fault suite")
    for nodeid, row in rows:
        terminalreporter.write_line(f"{nodeid.split('::')[-1]} [{_OUTCOMES.get(nodeid, '?')}]")
        for field, value in row.items():
            terminalreporter.write_line(f"    {field}: {value}")
