"""The embedded default (`make run`) and production settings, each in a fresh Python process."""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HOME_PAGE_CHECK = """
from django.test import Client
from apps.catalog.models import Product
from django.contrib.auth import get_user_model
response = Client(HTTP_HOST="127.0.0.1").get("/")
assert response.status_code == 200, response.status_code
assert b"New arrivals" in response.content
detail = Client(HTTP_HOST="127.0.0.1").get(Product.objects.order_by("id").first().get_absolute_url())
assert detail.status_code == 200, detail.status_code
print("products", Product.objects.count(), "users", get_user_model().objects.count())
"""


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def clean_env():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "DJANGO_", "SECRET_KEY", "DEBUG"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_embedded_default_migrates_seeds_twice_and_serves_the_home_page(clean_env, tmp_path):
    env = {**clean_env, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}"}
    _manage("migrate", "--noinput", env=env)
    first = _manage("seed_demo", env=env).stdout
    second = _manage("seed_demo", env=env).stdout
    assert "staff@flashcart.test" in first and "shopper@flashcart.test" in first
    assert "(0 categories and 0 products added now)" in second
    result = _manage("shell", "-c", HOME_PAGE_CHECK, env=env)
    assert "products 48 users 2" in result.stdout


def test_check_deploy_is_clean_with_production_settings(clean_env):
    env = {
        **clean_env,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": os.environ.get("DATABASE_URL", "mysql://root@127.0.0.1:3306/test"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "ALLOWED_HOSTS": "shop.example.com",
    }
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
def test_production_settings_refuse_to_start_without_real_services(clean_env, missing):
    env = {
        **clean_env,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": "mysql://root@127.0.0.1:3306/test",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    del env[missing]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read_until(process: subprocess.Popen, marker: str, lines: list[str], timeout: float) -> None:
    """Collect the supervisor's output lines until `marker` appears (a reader thread, so a silent
    process cannot block the test past its deadline)."""
    found = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if marker in line:
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    assert found.wait(timeout), "\n".join(lines)
    assert any(marker in line for line in lines), "\n".join(lines)


def test_make_run_starts_cleanly_prints_the_logins_when_ready_and_stops_on_ctrl_c(clean_env, tmp_path):
    """What `make run` runs: server, simulator and jobs start without a warning or an error (the
    demo data's events reach the development receiver), the logins come after the server answers,
    and Ctrl-C stops every process with no traceback."""
    port, pg_port = _free_port(), _free_port()
    env = {
        **clean_env,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EMAIL_URL": f"filemail://{tmp_path / 'mail'}",
    }
    supervisor = subprocess.Popen(
        # --noreload: files others are editing in this tree must not restart the server mid-test.
        [sys.executable, "tools/devserver.py", "--port", str(port), "--pg-port", str(pg_port), "--noreload"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    try:
        _read_until(supervisor, "Ctrl-C stops everything.", lines, timeout=180)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/dev/data-platform/events", timeout=5) as response:
            assert b"wallet.charged" in response.read(), "the demo data's event reached the receiver"
        time.sleep(6)  # one round of the 5-second jobs (relay, consumers, reconciler, expiry)
    finally:
        supervisor.send_signal(signal.SIGINT)  # what the terminal's Ctrl-C sends to the foreground process
        supervisor.wait(60)
    output = "\n".join(lines)

    assert supervisor.returncode == 0, output
    banner = output.index(f"Flashcart is running at http://127.0.0.1:{port}/")
    assert output.index("GET /livez") < banner, "the banner waits for the server to answer"
    assert "staff@flashcart.test / flashcart-staff-demo" in output[banner:]
    assert "shopper@flashcart.test / flashcart-shopper-demo" in output[banner:]
    assert lines[-1] == "Stopped."
    for unwanted in ("Traceback", "WARNING", "ERROR", "Connection refused", "No hostname", "Segmentation fault"):
        assert unwanted not in output, f"{unwanted!r} in:\n{output}"
    stamped = [line.split(" ", 4)[4] for line in lines if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ", line)]
    assert stamped and not set(stamped) & set(lines), "a logged line is not printed a second time by another handler"
    for stopped in (port, pg_port):  # the server and the simulator are gone
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", stopped), timeout=2).close()
