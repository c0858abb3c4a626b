"""Which service an API key names by organization and service slug, cached under one catalog version.

Why: once availability answers are cached, this lookup is a third of what a repeated
availability request costs. What it reads changes rarely: organizations (slugs), services (slug,
active, and every field the engine reads) and which organizations a key may act for. Any write to
those replaces the one catalog version (bookings/versioned_cache.py), so a cached service is never
used after such a change has committed. A failed lookup (404) is never cached. Key revocation
needs nothing here: authentication reads the key on every request.

`CATALOG_CACHE_SECONDS=0` turns it off.
"""

import hashlib

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save

from bookings.api.resolve import service_for_key
from bookings.versioned_cache import CacheUnavailable, version_replace, versioned_get, versioned_set
from organizations.models import ApiKey, Organization, Service

VERSION_KEY = "catalog:version"


def service_for_key_cached(org_slug: str, service_slug: str, api_key: ApiKey) -> Service:
    """`service_for_key`, answered from the cache while the catalog is unchanged."""
    if settings.CATALOG_CACHE_SECONDS <= 0:
        return service_for_key(org_slug, service_slug, api_key)
    digest = hashlib.blake2b(f"{api_key.pk}\0{org_slug}\0{service_slug}".encode(), digest_size=16).hexdigest()
    entry_key = f"catalog:service:{digest}"
    try:
        version, service = versioned_get(VERSION_KEY, entry_key)
    except CacheUnavailable:
        return service_for_key(org_slug, service_slug, api_key)
    if service is None:
        service = service_for_key(org_slug, service_slug, api_key)
        versioned_set(entry_key, version, service, settings.CATALOG_CACHE_SECONDS)
    return service


def catalog_invalidate(**kwargs) -> None:
    if settings.CATALOG_CACHE_SECONDS > 0 and not kwargs.get("raw"):
        version_replace(VERSION_KEY)


def _on_m2m(sender, action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        catalog_invalidate()


def connect_invalidation() -> None:
    """Wire the model signals (called once, from BookingsConfig.ready)."""
    for model in (Organization, Service):
        post_save.connect(catalog_invalidate, sender=model, dispatch_uid=f"catalog-save-{model.__name__}")
        post_delete.connect(catalog_invalidate, sender=model, dispatch_uid=f"catalog-delete-{model.__name__}")
    m2m_changed.connect(_on_m2m, sender=ApiKey.organizations.through, dispatch_uid="catalog-key-organizations")
