# The two commands a new user needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
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
	$(PY) manage.py seed_demo

run: setup
	@echo ""
	@echo "Serving on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	$(PY) manage.py runserver $(HOST):$(PORT)

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
