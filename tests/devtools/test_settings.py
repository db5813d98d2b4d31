"""The development app exists only where local (and test) settings install it: production neither
installs it, nor has its migrations in the plan, nor routes /dev/."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

# Run by `manage.py shell -c` under the settings given: what is installed, migrated and routed.
PROBE = """
import json
from django.apps import apps
from django.db.migrations.loader import MigrationLoader
from django.urls import Resolver404, resolve

def routed(path):
    try:
        return resolve(path).url_name
    except Resolver404:
        return None

graph = MigrationLoader(None, ignore_no_migrations=True).graph
print(json.dumps({
    "installed": apps.is_installed("apps.devtools"),
    "migrations": sorted(name for app, name in graph.nodes if app == "devtools"),
    "receiver": routed("/dev/data-platform/events"),
    "home": routed("/"),
}))
"""


def _probe(settings_module: str, **env) -> dict:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "DJANGO_", "SECRET_KEY", "DEBUG"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env={**clean, "PYTHONDONTWRITEBYTECODE": "1", "DJANGO_SETTINGS_MODULE": settings_module, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def production():
    return _probe(
        "config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=os.environ.get("DATABASE_URL", "mysql://root@127.0.0.1:3306/test"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    )


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    return _probe("config.settings.local", DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('local') / 'db.sqlite3'}")


def test_production_neither_installs_nor_migrates_nor_routes_the_development_app(production):
    assert production == {"installed": False, "migrations": [], "receiver": None, "home": "home"}


def test_local_settings_install_migrate_and_route_it(local):
    assert local == {"installed": True, "migrations": ["0001_initial"], "receiver": "data_platform_events", "home": "home"}
