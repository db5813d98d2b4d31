"""Development on one machine: `make run`. DEBUG on, everything embedded unless the env says otherwise."""

import os

os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

DATA_PLATFORM_URL = env("DATA_PLATFORM_URL", default="http://127.0.0.1:8000/dev/data-platform/events")
DATA_PLATFORM_SECRET = env("DATA_PLATFORM_SECRET", default="development-secret")
