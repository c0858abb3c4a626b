"""Settings come from the environment; each case runs in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], 'cache': settings.CACHES['default']['BACKEND'],"
    " 'debug': settings.DEBUG, 'hosts': settings.ALLOWED_HOSTS, 'use_tz': settings.USE_TZ,"
    " 'email': settings.EMAIL_BACKEND, 'stripe': settings.STRIPE_SECRET_KEY}))"
)


def probe(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True)


def settings_from(**env: str) -> dict:
    result = probe(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_need_no_environment():
    values = settings_from()
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["cache"].endswith("LocMemCache")
    assert values["debug"] is True
    assert values["use_tz"] is True
    assert values["email"].endswith("console.EmailBackend")


def test_database_url_selects_postgresql():
    assert settings_from(DATABASE_URL="postgres://u@127.0.0.1:5432/x")["engine"] == "django.db.backends.postgresql"


def test_redis_url_switches_cache_to_redis():
    assert settings_from(REDIS_URL="redis://127.0.0.1:6379/0")["cache"] == "config.redis_cache.ReusedClientRedisCache"


def test_refuses_to_start_without_secret_key_when_not_debug():
    result = probe(DEBUG="False")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_values_are_read():
    values = settings_from(
        DEBUG="false",
        SECRET_KEY="s3cret",
        ALLOWED_HOSTS="book.example.com,api.example.com",
        EMAIL_HOST="smtp.example.com",
        STRIPE_SECRET_KEY="sk_test_x",
    )
    assert values["debug"] is False
    assert values["hosts"] == ["book.example.com", "api.example.com"]
    assert values["email"].endswith("smtp.EmailBackend")
    assert values["stripe"] == "sk_test_x"


def test_the_wsgi_application_leaves_what_its_set_up_made_out_of_the_collectors_full_passes():
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}}
    code = "import gc, config.wsgi; print(gc.get_freeze_count())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 10_000  # Django, the apps and the URL patterns, frozen once loaded
