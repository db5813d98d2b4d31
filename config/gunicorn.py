"""gunicorn settings: `gunicorn config.wsgi:application --config config/gunicorn.py`."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
timeout = 30
keepalive = 5
accesslog = "-"
