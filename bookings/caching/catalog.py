"""The catalog rows a public request names (its service by slugs, a host by reference), cached
under a catalog version per organization.

Why: once availability answers are cached, these lookups are most of what a repeated request
costs, and a booking pays for them on every create. What they read changes rarely:
organizations (slugs, booking policy), services (slug, active, every field the engine reads, and
their locations), locations, staff members, which organizations a key may act for, and whether
an organization has webhook endpoints (most have none, and every booking asks).

Each organization has a catalog version of its own, which every write to those rows of it
replaces (organizations/versioned_cache.py): one organization's change leaves every other
organization's rows cached (with one version for all, 1,000 organizations writing now and then
kept the cache always cold). Which organization a slug names is itself cached, under a global
version that every write of an organization row (a slug may change) and every write whose
organizations were not read replaces; so a cached row is never used after a change it depends on
has committed. A failed lookup (404) is never cached. Key revocation needs nothing here:
authentication checks the key on every request (organizations/keys.py keeps key rows in a cache of
their own, which every write of a key replaces).

A cached service comes with its locations and their organization prefetched, which the engine
and the public create use instead of reading them again.

`CATALOG_CACHE_SECONDS=0` turns it off. `CATALOG_CACHE_STATS` counts hits and misses per process
(`catalog_stats`, for the load benchmark).
"""

import hashlib
from collections.abc import Callable, Iterable
from typing import TypeVar, cast

from django.conf import settings

from bookings.availability import service_locations_prefetch
from bookings.models import WebhookEndpoint
from bookings.selectors import service_for_key, staff_by_ref
from organizations.models import ApiKey, Organization, Service, StaffMember
from organizations.versioned_cache import CacheUnavailable, version_replace, versioned_get_many, versioned_set

VERSION_KEY = "catalog:version"  # of every organization: replaced by writes of unknown organizations
T = TypeVar("T")
_stats = {"hits": 0, "misses": 0}


def organization_version_key(organization_id: int) -> str:
    return f"{VERSION_KEY}:{organization_id}"


def catalog_stats() -> dict[str, int]:
    """This process's lookups answered from the cache (hits) and computed (misses), with
    CATALOG_CACHE_STATS on."""
    return dict(_stats)


def _count(outcome: str) -> None:
    if settings.CATALOG_CACHE_STATS:
        _stats[outcome] += 1


def _cached(kind: str, identity: str, organization_ids: Iterable[int], fetch: Callable[[], T]) -> T:
    """`fetch()`, answered from the cache while the catalog of these organizations is unchanged (a
    NotFound is not cached)."""
    if settings.CATALOG_CACHE_SECONDS <= 0:
        return fetch()
    digest = hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()
    entry_key = f"catalog:{kind}:{digest}"
    versions = (VERSION_KEY, *(organization_version_key(pk) for pk in sorted(set(organization_ids))))
    try:
        version, row = versioned_get_many(versions, entry_key)
    except CacheUnavailable:
        return fetch()
    if row is None:
        _count("misses")
        fetched = fetch()
        versioned_set(entry_key, version, fetched, settings.CATALOG_CACHE_SECONDS)
        return fetched
    _count("hits")
    return cast(T, row)  # stored by this function: what `fetch` returned


def _organization_id(org_slug: str) -> int | None:
    """The id of the organization `org_slug` names, cached under the global version; None: none."""

    def fetch() -> int | None:
        return Organization.objects.filter(slug=org_slug).values_list("pk", flat=True).first()

    entry_key = "catalog:organization:" + hashlib.blake2b(org_slug.encode(), digest_size=16).hexdigest()
    try:
        version, found = versioned_get_many((VERSION_KEY,), entry_key)
    except CacheUnavailable:
        return fetch()
    if found is None:
        found = fetch()
        if found is not None:  # an unknown slug is never cached: it may be created
            versioned_set(entry_key, version, found, settings.CATALOG_CACHE_SECONDS)
    return cast("int | None", found)


def service_for_key_cached(org_slug: str, service_slug: str, api_key: ApiKey) -> Service:
    """`service_for_key`, with the service's locations and their organization prefetched."""

    def fetch() -> Service:
        service = service_for_key(org_slug, service_slug, api_key)
        service_locations_prefetch(service)
        return service

    if settings.CATALOG_CACHE_SECONDS <= 0:
        return fetch()
    organization_id = _organization_id(org_slug)
    if organization_id is None:
        return fetch()  # the 404, never cached
    return _cached("service", f"{api_key.pk}\0{org_slug}\0{service_slug}", [organization_id], fetch)


def staff_by_ref_cached(organization_ids: list[int], ref: str) -> StaffMember:
    """`staff_by_ref`, answered from the cache while the catalog is unchanged."""
    identity = f"{sorted(organization_ids)}\0{ref}"
    return _cached("staff", identity, organization_ids, lambda: staff_by_ref(organization_ids, ref))


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
    return _cached("webhook-endpoints", str(organization_id), [organization_id], fetch)


def catalog_invalidate(organization_ids: Iterable[int] | None = None) -> None:
    """Abandon the cached catalog rows of these organizations (None: of every organization) now and
    again once the current transaction commits."""
    if settings.CATALOG_CACHE_SECONDS <= 0:
        return
    if organization_ids is None:
        version_replace(VERSION_KEY)
    else:
        version_replace(*(organization_version_key(pk) for pk in organization_ids))
