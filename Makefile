# Flashcart: `make run` (embedded default) and `make test` (MariaDB/MySQL + Redis) are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EMBEDDED := env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL DJANGO_SETTINGS_MODULE=config.settings.local

.PHONY: run test lint bench audit install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# `make run` needs only the base requirements (no compiled MySQL driver); the rest needs them all.
$(VENV)/.installed-base: $(PY) requirements-base.txt
	$(PY) -m pip install --quiet -r requirements-base.txt
	touch $@

$(VENV)/.installed: $(PY) requirements-base.txt requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed

# The shop on PORT, the PG simulator on PG_PORT (card checkout) and the periodic jobs; Ctrl-C stops them all.
PORT ?= 8000
PG_PORT ?= 8001
run: $(VENV)/.installed-base
	@$(EMBEDDED) $(PY) tools/devserver.py --port $(PORT) --pg-port $(PG_PORT)

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

bench: install
	@command -v wrk >/dev/null || apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(PY) bench/run.py

# Lighthouse (mobile) on the storefront's pages against a fresh embedded shop with demo data; fails
# below 95 in any category. Needs Node 20+ and chromium; Lighthouse goes into tools/audit/node_modules.
AUDIT_MODULES := tools/audit/node_modules/.package-lock.json
$(AUDIT_MODULES): tools/audit/package.json tools/audit/package-lock.json
	cd tools/audit && npm ci --no-audit --no-fund --silent

audit: $(VENV)/.installed-base $(AUDIT_MODULES)
	@command -v chromium >/dev/null || apt-get install -y -qq chromium || { apt-get update -qq && apt-get install -y -qq chromium; }
	$(EMBEDDED) $(PY) tools/audit/run_audit.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
