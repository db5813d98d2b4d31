"""Real processes for the many-nodes and fault tests: gunicorn servers, Celery workers and beat.

Each process runs production settings (DEBUG off) in its own session, so stopping it takes its
children (gunicorn's workers) too. Servers bind port 0 and report the port the kernel chose in
their log ("Listening at: http://127.0.0.1:PORT"), so parallel runs never fight over a port.
By default the nodes use the test database and the suite's Redis; the fault tests point them at
servers of their own (`redis_url`, `broker_url`, `database_url`) and tune them with `extra`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def current_database_url() -> str:
    """The URL of the database this process's default connection uses (pytest-django's test database)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "root") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"mysql://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


def node_environment(
    *,
    data_platform_url: str,
    redis_url: str | None = None,
    broker_url: str | None = None,
    database_url: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Production settings on the test database (pytest-django's) and the suite's Redis, unless told otherwise.

    `broker_url` defaults to `redis_url`, as in production; `extra` adds or overrides settings.
    """
    redis_url = redis_url or settings.REDIS_URL
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "GUNICORN_", "CELERY_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "many-nodes-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database_url or current_database_url(),
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
            "CELERY_BROKER_URL": broker_url or redis_url,
            "DATA_PLATFORM_URL": data_platform_url,
            "DATA_PLATFORM_SECRET": settings.DATA_PLATFORM_SECRET,
            "LOG_LEVEL": "INFO",
            "LOG_JSON": "false",
            **(extra or {}),
        }
    )
    return env


class Node:
    """One process in its own session; its output goes to a log file read by the test."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the process itself (not its session), as the kernel's OOM killer or a crash would."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM to the whole session, SIGKILL after a grace period; always leaves nothing behind."""
        for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # gunicorn workers or a Celery child that outlived their leader: same session, same fate.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Server(Node):
    """`port` 0 lets the kernel choose; a fixed one is for a URL other nodes must know before it is up (SITE_URL)."""

    def __init__(self, name: str, *, env: dict[str, str], log_dir: Path, workers: int = 2, port: int = 0):
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)}
        command = [str(BIN / "gunicorn"), "config.wsgi:application", "--config", "config/gunicorn.py", "--access-logfile", "/dev/null"]
        super().__init__(name, command, env=env, log_dir=log_dir)
        self.url = ""

    def wait_ready(self, deadline: float) -> None:
        while not self.url:
            match = _LISTENING.search(self.log())
            if match:
                self.url = f"http://127.0.0.1:{match.group(1)}"
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log()}")
            else:
                time.sleep(0.1)
        while True:
            try:
                if requests.get(f"{self.url}/livez", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} does not answer /livez:\n{self.log()}")
            time.sleep(0.1)


class Worker(Node):
    def __init__(self, name: str, *, env: dict[str, str], log_dir: Path, supervised: bool = False):
        command = [
            str(BIN / "celery"), "-A", "config", "worker", "--pool", "solo", "--hostname", f"{name}@%h",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if supervised:  # as docker compose runs it: tools/supervise.py starts it again if it dies
            command = [sys.executable, str(ROOT / "tools" / "supervise.py"), *command]
        super().__init__(name, command, env=env, log_dir=log_dir)

    def wait_ready(self, deadline: float) -> None:
        while "ready." not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log()}")
            time.sleep(0.1)


class Beat(Node):
    """The one `celery beat` that plays CELERY_BEAT_SCHEDULE (the outbox sweep among others)."""

    def __init__(self, name: str, *, env: dict[str, str], log_dir: Path):
        command = [str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO", "--schedule", str(log_dir / f"{name}-schedule")]
        super().__init__(name, command, env=env, log_dir=log_dir)

    def wait_ready(self, deadline: float) -> None:
        while "beat: Starting..." not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log()}")
            time.sleep(0.1)
