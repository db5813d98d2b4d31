"""Settings by topic, composed by config/settings/base.py. Each reads the process environment
(and an optional .env) through the one `env` below; every name is listed in .env.example."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
