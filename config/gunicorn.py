"""gunicorn settings: `gunicorn config.wsgi:application --config config/gunicorn.py`."""

import multiprocessing
import os
import re
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
timeout = 30
keepalive = 5
accesslog = "-"
# The control socket (gunicornc) of this instance, named after its bind address: gunicorn's default
# is one path per user, so a second instance on the machine would take over the first one's socket.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or os.path.join(
    os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir(), f"flashcart-gunicorn-{re.sub(r'[^A-Za-z0-9.-]+', '_', bind)}.ctl"
)
