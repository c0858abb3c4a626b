import json
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters and locks live in the cache; no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def demo(db) -> dict:
    """The demo organization, as `seed_demo --json` describes it."""
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


# Browser tests (Playwright + Debian's Chromium + axe-core): fixtures in tests/browser.py.
pytest_plugins = ["tests.browser", "tests.salon"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from tests.browser import ARTIFACTS

    if ARTIFACTS.exists() and any(ARTIFACTS.iterdir()):
        terminalreporter.write_line(f"Browser test artifacts (screenshots): {ARTIFACTS}")
