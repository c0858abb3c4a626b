"""The catalog rows a public request names (its service by slugs, a host by reference), cached
under one catalog version.

Why: once availability answers are cached, these lookups are most of what a repeated request
costs, and a booking pays for them on every create. What they read changes rarely:
organizations (slugs, booking policy), services (slug, active, every field the engine reads, and
their locations), locations, staff members, which organizations a key may act for, and whether
an organization has webhook endpoints (most have none, and every booking asks). Any write
to those replaces the one catalog version (bookings/caching/versioned.py), so a cached row is never
used after such a change has committed. A failed lookup (404) is never cached. Key revocation
needs nothing here: authentication reads the key on every request.

A cached service comes with its locations and their organization prefetched, which the engine
and the public create use instead of reading them again.

`CATALOG_CACHE_SECONDS=0` turns it off.
"""

import hashlib
from collections.abc import Callable
from typing import TypeVar, cast

from django.conf import settings
from django.db.models import Prefetch, prefetch_related_objects

from bookings.caching.versioned import CacheUnavailable, version_replace, versioned_get, versioned_set
from bookings.models import WebhookEndpoint
from bookings.selectors import service_for_key, staff_by_ref
from organizations.models import ApiKey, Location, Service, StaffMember

VERSION_KEY = "catalog:version"
T = TypeVar("T")


def _cached(kind: str, identity: str, fetch: Callable[[], T]) -> T:
    """`fetch()`, answered from the cache while the catalog is unchanged (a NotFound is not cached)."""
    if settings.CATALOG_CACHE_SECONDS <= 0:
        return fetch()
    digest = hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()
    entry_key = f"catalog:{kind}:{digest}"
    try:
        version, row = versioned_get(VERSION_KEY, entry_key)
    except CacheUnavailable:
        return fetch()
    if row is None:
        fetched = fetch()
        versioned_set(entry_key, version, fetched, settings.CATALOG_CACHE_SECONDS)
        return fetched
    return cast(T, row)  # stored by this function: what `fetch` returned


def service_for_key_cached(org_slug: str, service_slug: str, api_key: ApiKey) -> Service:
    """`service_for_key`, with the service's locations and their organization prefetched."""

    def fetch() -> Service:
        service = service_for_key(org_slug, service_slug, api_key)
        prefetch_related_objects([service], Prefetch("locations", Location.objects.select_related("organization")))
        return service

    return _cached("service", f"{api_key.pk}\0{org_slug}\0{service_slug}", fetch)


def staff_by_ref_cached(organization_ids: list[int], ref: str) -> StaffMember:
    """`staff_by_ref`, answered from the cache while the catalog is unchanged."""
    return _cached("staff", f"{sorted(organization_ids)}\0{ref}", lambda: staff_by_ref(organization_ids, ref))


def webhook_endpoints_exist_cached(organization_id: int) -> bool:
    """Whether the organization has an active webhook endpoint. Only "none" saves a query: the
    caller still reads the endpoints themselves, fresh, when there are some.

    Only with a cache every process shares (REDIS_URL): a stale "none" in one process's memory
    would write events without their deliveries, which nothing would ever send.
    """

    def fetch() -> bool:
        return WebhookEndpoint.objects.filter(organization_id=organization_id, active=True).exists()

    if not settings.REDIS_URL:
        return fetch()
    return _cached("webhook-endpoints", str(organization_id), fetch)


def catalog_invalidate() -> None:
    """Abandon every cached catalog row now and again once the current transaction commits."""
    if settings.CATALOG_CACHE_SECONDS > 0:
        version_replace(VERSION_KEY)
