"""Settings shared by every environment, composed from one module per topic in components/.

Each is read from the process environment (and an optional .env). Without DATABASE_URL /
REDIS_URL / CELERY_BROKER_URL the project runs on the embedded default: SQLite, local-memory cache
and in-process background jobs. Every knob is listed in .env.example.
"""

from config.settings.components import BASE_DIR, env  # noqa: F401
from config.settings.components.api import *  # noqa: F403
from config.settings.components.cache import *  # noqa: F403
from config.settings.components.celery import *  # noqa: F403
from config.settings.components.database import *  # noqa: F403
from config.settings.components.domain import *  # noqa: F403
from config.settings.components.email import *  # noqa: F403
from config.settings.components.logging import *  # noqa: F403
from config.settings.components.payments import *  # noqa: F403
from config.settings.components.project import *  # noqa: F403
from config.settings.components.security import *  # noqa: F403
