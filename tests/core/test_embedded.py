"""The embedded default (`make run`) and production settings, each in a fresh Python process."""

import os
import secrets
import subprocess
import sys
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
