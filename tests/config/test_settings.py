"""Settings entry points (issue 10, part 6): each in a fresh Python process with a clean environment."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LOCAL_SETTINGS = """
import json, os
from config.settings import local
print(json.dumps({"DEBUG": local.DEBUG, "SECRET_KEY": bool(local.SECRET_KEY), "env_DEBUG": os.environ.get("DEBUG")}))
"""

ENTRY_POINT = """
import json, os, importlib
importlib.import_module({module!r})
from django.conf import settings
print(json.dumps({{"module": os.environ["DJANGO_SETTINGS_MODULE"], "DEBUG": settings.DEBUG}}))
"""


def _clean_env(**extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "DJANGO_", "SECRET_KEY", "DEBUG"))}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def _run(code: str, env: dict) -> dict:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_local_settings_turn_debug_on_without_touching_the_environment():
    assert _run(LOCAL_SETTINGS, _clean_env()) == {"DEBUG": True, "SECRET_KEY": True, "env_DEBUG": None}
    assert _run(LOCAL_SETTINGS, _clean_env(DEBUG="false"))["DEBUG"] is False


def test_wsgi_and_asgi_default_to_production_settings():
    env = _clean_env(SECRET_KEY=secrets.token_urlsafe(64), DATABASE_URL="mysql://root@127.0.0.1:3306/unused", REDIS_URL="redis://127.0.0.1:6379/0")
    for module in ("config.wsgi", "config.asgi"):
        assert _run(ENTRY_POINT.format(module=module), env) == {"module": "config.settings.production", "DEBUG": False}


def test_local_settings_are_opt_in_for_the_entry_points():
    env = _clean_env(DJANGO_SETTINGS_MODULE="config.settings.local")
    assert _run(ENTRY_POINT.format(module="config.wsgi"), env) == {"module": "config.settings.local", "DEBUG": True}
