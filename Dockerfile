# The application image (web, worker, beat, migrate) and, as the `test` target, the CI image.
# Debian 12 pinned: its libmariadb (3.3) talks to MySQL 8's caching_sha2_password without TLS setup.
FROM python:3.11-slim-bookworm AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libmariadb-dev gcc \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements-base.txt requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Production settings refuse to start without real services; collectstatic needs neither.
RUN DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=build-only \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 REDIS_URL=redis://127.0.0.1:6379/0 \
    python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py"]

# What .ci/run installs on a fresh machine: development requirements, chromium for the browser test.
FROM app AS test
RUN apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver make \
    && rm -rf /var/lib/apt/lists/*
COPY requirements-dev.txt .
RUN pip install --no-cache-dir -r requirements-dev.txt
CMD ["sh", "-c", "ruff check . && pytest"]
