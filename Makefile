# The two commands a new user needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in emails (and Stripe's return pages) point at the address `make run` serves.
SITE_HOST := $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST))
SITE_URL ?= http://$(SITE_HOST):$(PORT)
PYTEST_ARGS ?= -n auto

.PHONY: run test setup install browser-deps lint format bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# axe-core (the accessibility checker the browser tests inject), from the npm registry; skipped,
# with a note, where npm is missing (the browser tests then say so).
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js
$(AXE): | $(VENV)/.installed
	@if command -v npm >/dev/null; then npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@4; \
	else echo "npm not found: axe-core not installed, accessibility checks will fail"; fi

browser-deps: $(AXE)

setup: install
	$(PY) manage.py migrate --no-input
	SITE_URL=$(SITE_URL) $(PY) manage.py seed_demo

# The web server and the background commands (Procfile), side by side under honcho: emails (on
# the console unless EMAIL_HOST is set), hold expiries, webhooks and reminders happen as they would
# in production. One web worker with threads: without REDIS_URL caches live in process memory.
# WEBHOOK_ALLOW_INSECURE: a developer's webhook receiver is a local http server.
run: setup
	@echo ""
	@echo "Serving on $(SITE_URL)/  (book: /book/acme-salon/, admin: /admin/, API docs: /api/docs/)"
	@echo "Emails are printed below by the web and deliver_emails processes. Ctrl-C stops everything."
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HOST=$(HOST) SITE_URL=$(SITE_URL) WEB_CONCURRENCY=1 \
		WEBHOOK_ALLOW_INSECURE=true GUNICORN_CMD_ARGS="--threads 4 --reload --access-logfile -" \
		$(VENV)/bin/honcho start -f Procfile -p $(PORT)

test: setup browser-deps
	$(PY) -m pytest -rs $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup
	$(PY) -m tests.bench

clean:
	rm -rf $(VENV) db.sqlite3 .test-db.sqlite3* staticfiles test-artifacts
