"""A shared cache of public availability answers, versioned per organization.

Why: computing free slots is most of an availability request's cost (three or four queries and
the engine), and many customers ask for the same days. An answer is stored under its organization's
current version token. Every write that can change a slot (bookings, participants, holds, working
hours, overrides, time off, staff, teams, services, locations, the organization itself) replaces
that token, so a cached answer is never served once such a write has committed (organizations/versioned_cache.py).

Time alone changes availability too. An entry never outlives the moment its first slot falls
inside the minimum notice, so the cache never offers a slot the engine would refuse as too soon.
Slots freed by time (a hold expiring, the advance limit moving) appear at most
`AVAILABILITY_CACHE_SECONDS` late: the cache may under-offer briefly, never over-offer.

The cache is Django's default cache: Redis with `REDIS_URL` (shared by every process, required
with several workers), local memory otherwise (one process, as `make run` serves).
`AVAILABILITY_CACHE_SECONDS=0` turns it off. Bookings never rely on it: creation re-checks the
slot under the resource locks.

What invalidates: every write of a row the engine reads, whatever the ORM call that makes it (a
save or delete, QuerySet.update() or delete(), bulk_create(), bulk_update(), a many-to-many change);
how each reaches `availability_invalidate`: bookings/caching/invalidation.py.
"""

import hashlib
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar, cast

from django.conf import settings
from django.utils import timezone as djtz

from bookings.availability import Slot
from organizations.models import Organization
from organizations.versioned_cache import CacheUnavailable, version_replace, versioned_get, versioned_set

PREFIX = "availability"
# The answer a caller caches (the availability view's rendered JSON bytes).
A = TypeVar("A")


def _version_key(organization_id: int) -> str:
    return f"{PREFIX}:version:{organization_id}"


def _entry_key(organization_id: int, params: tuple[Any, ...]) -> str:
    digest = hashlib.blake2b(repr(params).encode(), digest_size=16).hexdigest()
    return f"{PREFIX}:{organization_id}:{digest}"


def availability_cached(
    organization: Organization, params: tuple[Any, ...], compute: Callable[[], tuple[A, list[Slot]]]
) -> A:
    """The answer for `params`: cached under the organization's current version, else `compute()`d.

    `compute` returns the answer and the slots it shows; the answer is kept until the first of
    those slots falls inside the minimum notice, and at most AVAILABILITY_CACHE_SECONDS.
    """
    if settings.AVAILABILITY_CACHE_SECONDS <= 0:
        return compute()[0]
    key = _entry_key(organization.pk, params)
    try:
        version, answer = versioned_get(_version_key(organization.pk), key)
    except CacheUnavailable:
        return compute()[0]
    if answer is not None:
        return cast(A, answer)  # stored by this function: what `compute` returned
    answer, slots = compute()
    now = djtz.now()  # after computing: the engine's own "now" was earlier, so this errs short
    timeout = float(settings.AVAILABILITY_CACHE_SECONDS)
    if slots:
        too_soon_at = min(slot.starts_at for slot in slots) - timedelta(minutes=organization.min_notice_minutes)
        timeout = min(timeout, (too_soon_at - now).total_seconds())
    if timeout >= 1:
        versioned_set(key, version, answer, int(timeout))
    return answer


def availability_invalidate(organization_id: int | None) -> None:
    """Abandon the organization's cached answers now and again once the current transaction commits."""
    if organization_id is not None and settings.AVAILABILITY_CACHE_SECONDS > 0:
        version_replace(_version_key(organization_id))


def availability_invalidate_organizations(organization_ids: Iterable[int] | None) -> None:
    """`availability_invalidate` for each of these organizations; None (a writer that did not read
    which): every organization."""
    if settings.AVAILABILITY_CACHE_SECONDS <= 0:
        return
    if organization_ids is None:
        organization_ids = Organization.objects.values_list("pk", flat=True)
    version_replace(*(_version_key(organization_id) for organization_id in organization_ids))
