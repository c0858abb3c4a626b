"""Holds: a slot reserved for a few minutes while a client fills in the booking form.

A hold blocks its slot until `expires_at` whether or not `holds_expire` has run: the engine
ignores expired holds by time, the command only tidies their status and tells webhooks.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone as djtz

from bookings.locking import lock_key
from bookings.services.actors import Actor
from bookings.services.reservation import (
    SlotLocks,
    booker_party_size_check,
    locks_take,
    row_insert,
    slot_locks,
    slot_reserve,
)
from bookings.webhooks import webhook_emit
from holds.models import Hold
from organizations.errors import Conflict, RateLimited
from organizations.models import ApiKey, Location, Service, StaffMember


def _active_holds_check(*, api_key: ApiKey | None, client_address: str | None, now: datetime) -> None:
    """A session token (a browser's) holds at most HOLD_MAX_ACTIVE slots at once, and so does one
    client address across its session tokens, and across the booking pages; a business or hub key
    (the merchant's own server, holding for all its customers) at most HOLD_MAX_ACTIVE_PER_KEY.
    Over: 429, with Retry-After until the first one lapses."""
    active = Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__gt=now)
    if api_key is None:  # the booking pages: a browser, known by its address
        limit = settings.HOLD_MAX_ACTIVE
        scopes = [("client address", active.filter(client_address=client_address, api_key__isnull=True))]
    elif api_key.kind == ApiKey.Kind.SESSION:
        limit = settings.HOLD_MAX_ACTIVE
        scopes = [("session", active.filter(api_key=api_key))]
        if client_address:
            scopes.append(("client address", active.filter(client_address=client_address, api_key__kind=api_key.kind)))
    else:
        limit = settings.HOLD_MAX_ACTIVE_PER_KEY
        scopes = [("key", active.filter(api_key=api_key))]
    for scope, holds in scopes:
        expiries = list(holds.order_by("expires_at").values_list("expires_at", flat=True)[:limit])
        if len(expiries) >= limit:
            raise RateLimited(
                f"Too many active holds: a {scope} may hold at most {limit} slots at once; book or release one first",
                retry_after=max(1, int((expiries[0] - now).total_seconds()) + 1),
            )


def _held_since(
    *, api_key: ApiKey, service: Service, location: Location, starts_at: datetime, now: datetime
) -> datetime:
    """When `api_key` began holding this slot: a hold of it on the same slot that is active, or
    ended (released, expired) less than a hold's length ago, continues that holding."""
    gap = timedelta(minutes=location.organization.hold_minutes)
    previous = (
        Hold.objects.filter(api_key=api_key, service=service, location=location, starts_at=starts_at.astimezone(UTC))
        .exclude(status=Hold.Status.CONVERTED)
        .filter(expires_at__gt=now - gap)
        .order_by("-id")
        .first()
    )
    if previous is None:
        return now
    return previous.held_since or previous.created_at


def hold_place(
    *,
    service: Service,
    location: Location,
    starts_at: datetime,
    staff: StaffMember | None = None,
    party_size: int = 1,
    api_key: ApiKey | None = None,
    client_address: str | None = None,
    now: datetime | None = None,
) -> Hold:
    """Hold the slot at `starts_at` (assigning a free staff member when none is asked for).

    Bounded so that one caller cannot empty a calendar: at most `max_party_size` places; at most
    HOLD_MAX_ACTIVE active holds per session token and per client address (of session tokens; of the
    booking pages), and HOLD_MAX_ACTIVE_PER_KEY per business or hub key (429); and one key holds one
    slot at most HOLD_MAX_LIFETIME_MINUTES from its first hold on it, however often it releases and
    holds it again (409 once that is spent)."""
    now = now or djtz.now()
    booker_party_size_check(service=service, party_size=party_size)
    expires_at = now + timedelta(minutes=location.organization.hold_minutes)
    held_since = now
    if api_key is not None:
        held_since = _held_since(api_key=api_key, service=service, location=location, starts_at=starts_at, now=now)
        deadline = held_since + timedelta(minutes=settings.HOLD_MAX_LIFETIME_MINUTES)
        if deadline <= now:
            raise Conflict(
                f"This slot has been held for {settings.HOLD_MAX_LIFETIME_MINUTES} minutes, the longest one "
                "caller may hold it: book it or pick another time"
            )
        expires_at = min(expires_at, deadline)
    address = client_address if api_key is None or api_key.kind == ApiKey.Kind.SESSION else None
    locks = slot_locks(service=service, location=location, starts_at=starts_at, staff=staff)
    # The holder's locks join the slot's, in the transaction's one lock call: two requests of one
    # key (or address) at once cannot both count two holds and each place a third.
    holder = {lock_key("holds-of-key", api_key.pk)} if api_key is not None else set()
    if address:
        holder.add(lock_key("holds-of-address", address))
    with transaction.atomic():
        locks_take(SlotLocks(locks.keys | holder, locks.members))
        if api_key is not None or address:
            _active_holds_check(api_key=api_key, client_address=address, now=now)
        reservation = slot_reserve(
            service=service,
            location=location,
            starts_at=starts_at,
            staff=staff,
            party_size=party_size,
            now=now,
            locks=locks,
        )
        slot = reservation.slot
        organization = location.organization
        return row_insert(
            Hold,
            organization=organization,
            service=service,
            location=location,
            staff_id=reservation.staff_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            blocked_start=slot.starts_at - timedelta(minutes=service.buffer_before_minutes),
            blocked_end=slot.ends_at + timedelta(minutes=service.buffer_after_minutes),
            party_size=party_size,
            expires_at=expires_at,
            held_since=held_since,
            api_key=api_key,
            # Kept for the caps by address: browsers' holds (session tokens, the booking pages) only.
            client_address=address,
        )


def hold_release(*, hold: Hold, actor: Actor, now: datetime | None = None) -> Hold:
    """Give the slot back, recording who did. Releasing a hold that is no longer active changes nothing."""
    with transaction.atomic():
        hold = Hold.objects.select_for_update().get(pk=hold.pk)
        if hold.status == Hold.Status.ACTIVE:
            hold.status = Hold.Status.RELEASED
            hold.released_at = now or djtz.now()
            hold.released_by = actor.label
            hold.save(update_fields=["status", "released_at", "released_by"])
        return hold


def hold_event_data(hold: Hold) -> dict[str, Any]:
    """The `data` of a hold.* event."""
    return {
        "hold_id": str(hold.uuid),
        "service_id": str(hold.service.uuid),
        "location_id": str(hold.location.uuid),
        "staff_id": str(hold.staff.uuid) if hold.staff is not None else None,
        "starts_at": hold.starts_at.isoformat(),
        "ends_at": hold.ends_at.isoformat(),
        "expires_at": hold.expires_at.isoformat(),
    }


def holds_expire(*, now: datetime | None = None, batch: int = 500) -> int:
    """Mark active holds past `expires_at` as expired and emit `hold.expired`; returns how many."""
    now = now or djtz.now()
    count = 0
    while True:
        with transaction.atomic():
            due = Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__lte=now).order_by("id")
            if connection.vendor == "postgresql":
                due = due.select_for_update(skip_locked=True, of=("self",))
            holds = list(due.select_related("organization", "service", "location", "staff")[:batch])
            for hold in holds:
                hold.status = Hold.Status.EXPIRED
                hold.save(update_fields=["status"])
                webhook_emit(organization=hold.organization, event_type="hold.expired", data=hold_event_data(hold))
        count += len(holds)
        if len(holds) < batch:
            return count
