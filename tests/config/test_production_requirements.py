"""requirements.txt alone is enough for production to reach its broker (issue 11, defect 12).

Builds a fresh virtualenv from requirements.txt only (pip's cache keeps it to a minute or two),
then, with production settings in it, runs `manage.py check` and pings a Redis broker of the
test's own through Celery's connection, the way /healthz and the web processes reach it.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BROKER_PING = """
import django
django.setup()
import kombu.transport.redis  # the broker transport and its dependencies
from config.celery import app
with app.connection_for_write() as connection:
    connection.ensure_connection(max_retries=1)
    assert connection.default_channel.client.ping()
print("broker ok")
"""


def test_a_fresh_install_from_requirements_txt_reaches_the_broker(own_redis, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(ROOT / "requirements.txt")],
        capture_output=True, text=True, timeout=540,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL="mysql://root@127.0.0.1:3306/unused",
        REDIS_URL=own_redis.url(1),
        CELERY_BROKER_URL=own_redis.url(0),
        PYTHONDONTWRITEBYTECODE="1",
    )
    check = subprocess.run([python, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr[-3000:]
    ping = subprocess.run([python, "-c", BROKER_PING], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert ping.returncode == 0, ping.stderr[-3000:]
    assert ping.stdout.strip().endswith("broker ok")
