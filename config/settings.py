"""Settings for the booking platform, read from the environment.

Nothing here needs editing to run locally: with no environment at all the platform runs on a
SQLite file with local-memory cache and console email. Production sets the variables listed in
README.md.
"""

import hashlib
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.psycopg_statements import statement_cache_widen

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is False.")
    SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- HTTPS (production: DEBUG=false) ------------------------------------------------------
# With DEBUG off every request is redirected to https, cookies are sent over https only and
# browsers are told (HSTS) to use nothing else, so `manage.py check --deploy` passes. Behind a
# proxy that terminates TLS, SECURE_PROXY_SSL_HEADER names the header it sets on https requests
# (e.g. `X-Forwarded-Proto: https`; only if the proxy always sets or strips it), and
# SECURE_SSL_REDIRECT=false leaves redirecting to the proxy.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or ("0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)


def proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto: https` (or `=`) as Django's (META name, value) pair; empty: None."""
    if not value.strip():
        return None
    for separator in (":", "=", ","):
        name, found, expected = value.partition(separator)
        if found:
            break
    if not found or not name.strip() or not expected.strip():
        raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER must look like `X-Forwarded-Proto: https`.")
    meta = name.strip().upper().replace("-", "_")
    return (meta if meta.startswith("HTTP_") else f"HTTP_{meta}", expected.strip())


SECURE_PROXY_SSL_HEADER = proxy_ssl_header(os.environ.get("SECURE_PROXY_SSL_HEADER", ""))

# `manage.py seed_demo` (a demo organization and admin user) runs only in development unless
# forced with --force. From the environment's DEBUG, not the test runner's (which turns DEBUG off).
DEMO_SEED_ALLOWED = env_bool("DEMO_SEED_ALLOWED", DEBUG)

# Where links in emails and Stripe redirect URLs point.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "organizations",
    "holds",
    "bookings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, the logged-in user and messages: the pages and the admin use them, the API does not
    # (it authenticates by key), so API paths skip them (bookings/api/middleware.py).
    "bookings.api.middleware.WebOnlySessionMiddleware",
    "bookings.api.middleware.OptionalTrailingSlashMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "bookings.api.middleware.WebOnlyAuthenticationMiddleware",
    "bookings.api.middleware.WebOnlyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# DATABASE_URL selects the database; the default is a SQLite file next to manage.py.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE: a writer takes the database lock at BEGIN, so two requests cannot both read
    # "free" and then both write; "database is locked" becomes a wait instead of an error.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    # Concurrency tests need a file (threads do not share an in-memory database).
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Each checkout tests in a database of its own: two checkouts of this project on one server
    # (worktrees, CI beside a developer) would otherwise drop each other's test_<name> mid-run.
    checkout = hashlib.blake2b(str(BASE_DIR).encode(), digest_size=4).hexdigest()
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{checkout}"}
    # Prepared statements: a statement a connection has run DB_PREPARE_THRESHOLD times is parsed
    # and planned once, not on every run (parsing and planning were about half of PostgreSQL's CPU
    # in a booking, sampled with perf). A pooler in transaction mode without prepared-statement
    # support needs DB_PREPARE_THRESHOLD=off (Django's default: every statement parsed each time).
    # A booking's statement with its riders has about 70 parameters: psycopg should keep its conversion.
    statement_cache_widen()
    threshold = os.environ.get("DB_PREPARE_THRESHOLD", "5").strip().lower()
    if threshold not in ("", "off"):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": int(threshold)}
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.ReusedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "booking"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "booking"}}
    # Without REDIS_URL the rate-limit counters live in one process's memory. That is correct
    # for `make run` (one process) and for tests; production sets REDIS_URL so that several
    # gunicorn workers share the counters, and then these checks pass on their own.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "bookings.api.errors.ratelimited"
# How long a public availability answer may be reused (bookings/caching/availability.py); 0: never.
AVAILABILITY_CACHE_SECONDS = int(os.environ.get("AVAILABILITY_CACHE_SECONDS", "10"))
# How long the service an API key names by slugs may be reused (bookings/caching/catalog.py); 0: never.
CATALOG_CACHE_SECONDS = int(os.environ.get("CATALOG_CACHE_SECONDS", "300"))
# How long an API key's row may be reused (organizations/keys.py), only with REDIS_URL; 0: never.
API_KEY_CACHE_SECONDS = int(os.environ.get("API_KEY_CACHE_SECONDS", "300"))
# Count the catalog cache's hits and misses per process (the load benchmark reads them); off by default.
CATALOG_CACHE_STATS = env_bool("CATALOG_CACHE_STATS", False)
# Bookings one API key may create per minute on the public API.
BOOKING_RATE_LIMIT = os.environ.get("BOOKING_RATE_LIMIT", "10/m")
# The booking pages have no key: per client address, holds placed (a slot picked) per minute; their
# confirmations count against BOOKING_RATE_LIMIT per address.
PAGE_HOLD_RATE_LIMIT = os.environ.get("PAGE_HOLD_RATE_LIMIT", "20/m")
# Session tokens (POST /api/v1/sessions): how long one lives, and how many may be minted per public
# key and per client address. Every widget load mints one, so the per-key limit is the merchant's
# whole traffic (60/m: one a second); one visitor needs one per SESSION_TOKEN_MINUTES, so 10/m
# per address leaves room for reloads and a shared address but keeps one client from spending
# the key's budget alone.
SESSION_TOKEN_MINUTES = int(os.environ.get("SESSION_TOKEN_MINUTES", "30"))
if SESSION_TOKEN_MINUTES < 1:
    raise ImproperlyConfigured("SESSION_TOKEN_MINUTES must be at least 1.")
SESSION_RATE_LIMIT = os.environ.get("SESSION_RATE_LIMIT", "60/m")
SESSION_ADDRESS_RATE_LIMIT = os.environ.get("SESSION_ADDRESS_RATE_LIMIT", "10/m")
# Holds (POST /api/v1/bookings/hold): placed per key and, for session tokens (browsers), per client
# address per window; active at once per session token and per client address of session tokens;
# and how long one key may keep one slot held, releasing and holding it again included.
HOLD_RATE_LIMIT = os.environ.get("HOLD_RATE_LIMIT", "30/m")
HOLD_ADDRESS_RATE_LIMIT = os.environ.get("HOLD_ADDRESS_RATE_LIMIT", "30/m")
HOLD_MAX_ACTIVE = int(os.environ.get("HOLD_MAX_ACTIVE", "3"))
# A business or hub key is the merchant's server, holding for every customer of its widget or app.
HOLD_MAX_ACTIVE_PER_KEY = int(os.environ.get("HOLD_MAX_ACTIVE_PER_KEY", "100"))
HOLD_MAX_LIFETIME_MINUTES = int(os.environ.get("HOLD_MAX_LIFETIME_MINUTES", "30"))
# Failed admin logins per client address and per user name tried (bookings/admin/login.py).
ADMIN_LOGIN_ADDRESS_RATE_LIMIT = os.environ.get("ADMIN_LOGIN_ADDRESS_RATE_LIMIT", "10/15m")
ADMIN_LOGIN_USER_RATE_LIMIT = os.environ.get("ADMIN_LOGIN_USER_RATE_LIMIT", "20/15m")
# Failed confirmation-number lookups per client address (whatever numbers it tries; see NUM_PROXIES).
LOOKUP_FAILURE_LIMIT = int(os.environ.get("LOOKUP_FAILURE_LIMIT", "10"))
LOOKUP_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOOKUP_FAILURE_WINDOW_SECONDS", "900"))
# Failed lookups of one confirmation number from every address together: slower and higher than the
# per-client limit, so a stranger's guesses never lock the owner out (bookings.services.lookup).
LOOKUP_NUMBER_FAILURE_LIMIT = int(os.environ.get("LOOKUP_NUMBER_FAILURE_LIMIT", "100"))
LOOKUP_NUMBER_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOOKUP_NUMBER_FAILURE_WINDOW_SECONDS", "86400"))
# How many occurrences one recurring series may have.
SERIES_MAX_OCCURRENCES = int(os.environ.get("SERIES_MAX_OCCURRENCES", "366"))
# How long a booking writer waits for another one on the same resource before answering 409.
BOOKING_LOCK_TIMEOUT_MS = int(os.environ.get("BOOKING_LOCK_TIMEOUT_MS", "5000"))

# --- Auth and i18n ------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Email --------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Every email is written to the outbox with its change (bookings/notifications/outbox.py). The
# request that made the change tries it once after commit, waiting at most EMAIL_REQUEST_TIMEOUT
# seconds per network step, so a mail server that stops answering holds no request for long (0:
# no try in the request, `manage.py deliver_emails` sends everything). deliver_emails retries
# failures with EMAIL_TIMEOUT, Django's own SMTP timeout.
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
EMAIL_REQUEST_TIMEOUT = float(os.environ.get("EMAIL_REQUEST_TIMEOUT", "3"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "bookings@localhost")

# --- Stripe -------------------------------------------------------------------------------
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
# Seconds one attempt of a Stripe call may take (it is tried up to three times): bounds how long a
# booking with a deposit can run, and so how long its Idempotency-Key stays claimed.
STRIPE_TIMEOUT_SECONDS = float(os.environ.get("STRIPE_TIMEOUT_SECONDS", "10"))
# Only for tests and local stand-ins: where the stripe library sends its requests.
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")

# --- Webhooks -----------------------------------------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# Development only (`make run`, tests with a local receiver): allow http and local or private
# addresses as webhook targets. Off, webhooks go to public https URLs only (bookings/webhook_targets.py).
WEBHOOK_ALLOW_INSECURE = env_bool("WEBHOOK_ALLOW_INSECURE", False)

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["bookings.api.parsers.DepthLimitedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["organizations.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["organizations.auth.HasApiKey"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "bookings.api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter's, except that a parameter sent with an empty or unreadable value is a 400.
        "bookings.api.filtering.StrictFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Proxies in front of the platform that append to X-Forwarded-For: the client is the address
    # that many hops back. 0 (the default) trusts only REMOTE_ADDR, since a client can write
    # any X-Forwarded-For it likes. Per-client limits (failed lookups) key on this address.
    "NUM_PROXIES": int(os.environ.get("NUM_PROXIES", "0")),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Booking platform API",
    "DESCRIPTION": "Public booking, customer & merchant, holds and resource APIs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- OpenAPI enum names and bounded pagination ---------------------------------------------
# Every list caps ?limit= and ?offset= (an unbounded offset overflows SQLite's integers: a 500
# that schemathesis finds in CI).
REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"] = "bookings.api.resources.pagination.BoundedLimitOffsetPagination"
# Several models have a `kind` or `status` choice set; these names keep the schema components
# stable and readable (drf-spectacular warns on the collision otherwise).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "LocationKindEnum": "organizations.models.Location.Kind",
    "ServiceKindEnum": "organizations.models.Service.Kind",
    "ApiKeyKindEnum": "organizations.models.ApiKey.Kind",
    "HoldStatusEnum": "holds.models.Hold.Status",
    "ParticipantStatusEnum": "bookings.models.Participant.Status",
    "BookingStatusEnum": "bookings.models.BookingStatus",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
