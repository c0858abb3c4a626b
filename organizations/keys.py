"""API keys: issue, authenticate, revoke. Secrets are random, shown once, stored as SHA-256.

Every API request authenticates, so a key's row is cached (`API_KEY_CACHE_SECONDS`, only with a
cache every process shares, `REDIS_URL`: a revocation must reach every process at once) under one
version for every key (organizations/versioned_cache.py). It is read from the cache only where the
request's cached lookups are primed (bookings/api/primed_reads.py): there it comes in the round trip
they make anyway, where a round trip of its own would cost more than the compiled query. Every write of a key row replaces it, a
revocation above all: a revoked key is refused from the moment its revocation commits, as before.
A new key needs nothing (an unknown secret is never cached), and `last_used_at`, refreshed once a
minute, is written past the notifying manager and through to the cache entry. Customer keys are
not cached: they bring their customer's row, which changes on its own.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from organizations.compiled import CompiledQuery
from organizations.errors import Forbidden, NotAuthenticated
from organizations.models import ApiKey, Customer, Organization
from organizations.signals import rows_written
from organizations.versioned_cache import (
    CacheUnavailable,
    version_replace,
    versioned_get,
    versioned_reads_are_primed,
    versioned_set,
)

# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *,
    kind: str,
    organizations: list[Organization],
    customer: Customer | None = None,
    name: str = "",
    expires_at: datetime | None = None,
    issued_by: ApiKey | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is not stored and cannot be shown again."""
    secret = ApiKey.PREFIXES[ApiKey.Kind(kind)] + secrets.token_urlsafe(32)
    key = ApiKey(
        kind=kind,
        name=name,
        customer=customer,
        expires_at=expires_at,
        issued_by=issued_by,
        prefix=secret[:12],
        secret_hash=hash_secret(secret),
    )
    key.full_clean(exclude=["secret_hash"])
    key.save()
    # Rows rather than `organizations.set()`: a new key has nothing cached under its id, and
    # m2m_changed would drop the whole catalog cache, once per widget load for session tokens.
    through = ApiKey.organizations.through
    through.objects.bulk_create(
        through(apikey=key, organization=organization) for organization in {o.pk: o for o in organizations}.values()
    )
    return key, secret


def session_token_issue(*, public_key: ApiKey, minutes: int) -> tuple[ApiKey, str]:
    """A session token (`cal_ses_...`) for a widget: hold, book and show, for `minutes`, for exactly
    the public key's organization, remembering the key that minted it. Returns it with its secret."""
    if public_key.kind != ApiKey.Kind.PUBLIC:
        raise Forbidden(f"A {public_key.kind} key may not issue session tokens")
    if minutes < 1:
        raise ValueError("minutes must be at least 1")
    organizations = list(public_key.organizations.all()[:2])
    if len(organizations) != 1:
        raise Forbidden("A public key must belong to exactly one organization to issue session tokens")
    return api_key_create(
        kind=ApiKey.Kind.SESSION,
        organizations=organizations,
        name=f"Session token from {public_key.prefix}",
        expires_at=timezone.now() + timedelta(minutes=minutes),
        issued_by=public_key,
    )


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key, and with it the session tokens it minted (they act for the same merchant)."""
    now = timezone.now()
    if api_key.revoked_at is None:
        api_key.revoked_at = now
        api_key.save(update_fields=["revoked_at"])
    if api_key.kind == ApiKey.Kind.PUBLIC:
        ApiKey.objects.filter(issued_by=api_key, revoked_at__isnull=True).update(revoked_at=now)
    return api_key


# Every API request authenticates: the lookup is compiled once (building and compiling it cost
# about 0.4 ms of CPU, several times running it).
_KEY_BY_HASH: CompiledQuery[ApiKey] = CompiledQuery(
    lambda secret_hash: ApiKey.objects.filter(secret_hash=secret_hash).order_by()[:1], "<hash>"
)
_CUSTOMER_KEY_BY_HASH: CompiledQuery[ApiKey] = CompiledQuery(
    lambda secret_hash: ApiKey.objects.filter(secret_hash=secret_hash).select_related("customer").order_by()[:1],
    "<hash>",
)


KEY_VERSION = "apikey:version"  # of every key's cached row


def api_key_cache_key(secret_hash: str) -> str:
    return f"apikey:{secret_hash}"


def _key_cache_on() -> bool:
    return bool(settings.REDIS_URL) and settings.API_KEY_CACHE_SECONDS > 0


def _key_row(secret_hash: str) -> ApiKey | None:
    found = _KEY_BY_HASH.fetch(secret_hash)
    return found[0] if found else None


def _key_by_hash(secret_hash: str) -> tuple[ApiKey | None, str | None]:
    """The key row (None: no such key) and the cache version it was read under (None: not cached)."""
    if not (_key_cache_on() and versioned_reads_are_primed()):
        return _key_row(secret_hash), None
    try:
        version, key = versioned_get(KEY_VERSION, api_key_cache_key(secret_hash))
    except CacheUnavailable:
        return _key_row(secret_hash), None
    if key is None:
        key = _key_row(secret_hash)
        if key is not None:  # an unknown secret is never cached: it may be issued
            versioned_set(api_key_cache_key(secret_hash), version, key, settings.API_KEY_CACHE_SECONDS)
    return key, version


def api_key_authenticate(secret: str) -> ApiKey:
    """The live key for `secret`, or NotAuthenticated saying why not."""
    secret = secret.strip()
    secret_hash = hash_secret(secret)
    version = None
    if secret.startswith(ApiKey.PREFIXES[ApiKey.Kind.CUSTOMER]):
        # Only a customer key acts as its customer; the join costs every other request ~0.25 ms.
        found = _CUSTOMER_KEY_BY_HASH.fetch(secret_hash)
        key = found[0] if found else None
    else:
        key, version = _key_by_hash(secret_hash)
    if key is None:
        raise NotAuthenticated("Invalid API key")
    now = timezone.now()
    if key.revoked_at is not None:
        raise NotAuthenticated("API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise NotAuthenticated("API key has expired")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # Past the notifying manager: the time of use is no one's cached answer, and the cached row
        # is written here instead (under the version it was read with: a revocation since wins).
        ApiKey._base_manager.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
        if version is not None:
            versioned_set(api_key_cache_key(secret_hash), version, key, settings.API_KEY_CACHE_SECONDS)
    return key


def api_key_cache_invalidate() -> None:
    """Abandon every cached key row: at once outside a transaction, else when it commits."""
    if _key_cache_on():
        version_replace(KEY_VERSION)


def _on_key_save(sender: type[models.Model], instance: ApiKey, created: bool = False, **kwargs: Any) -> None:
    if not created:  # a new key's secret was never cached
        api_key_cache_invalidate()


def _on_key_delete(sender: type[models.Model], instance: ApiKey, **kwargs: Any) -> None:
    api_key_cache_invalidate()


def _on_key_rows(sender: type[models.Model], inserted: bool = False, **kwargs: Any) -> None:
    if not inserted:
        api_key_cache_invalidate()


def api_key_cache_connect() -> None:
    """Wire the invalidation (called once, from OrganizationsConfig.ready): a key's save() and
    delete() (cascades included) and its QuerySet's update(), delete() and bulk writes."""
    post_save.connect(_on_key_save, sender=ApiKey, dispatch_uid="apikey-cache-save")
    post_delete.connect(_on_key_delete, sender=ApiKey, dispatch_uid="apikey-cache-delete")
    rows_written.connect(_on_key_rows, sender=ApiKey, dispatch_uid="apikey-cache-rows")


def key_organization_ids(api_key: ApiKey) -> set[int]:
    """Organizations a key may act for (cached on the instance: asked several times per request)."""
    cached = getattr(api_key, "_organization_ids", None)
    if cached is None:
        cached = set(api_key.organizations.values_list("id", flat=True))
        api_key._organization_ids = cached
    return cached
