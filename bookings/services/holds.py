"""Holds: a slot reserved for a few minutes while a client fills in the booking form.

A hold blocks its slot until `expires_at` whether or not `holds_expire` has run: the engine
ignores expired holds by time, the command only tidies their status and tells webhooks.
"""

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone as djtz

from bookings.services.actors import Actor
from bookings.services.reservation import row_insert, slot_reserve
from bookings.webhooks import webhook_emit
from holds.models import Hold
from organizations.models import ApiKey, Location, Service, StaffMember


def hold_place(
    *,
    service: Service,
    location: Location,
    starts_at: datetime,
    staff: StaffMember | None = None,
    party_size: int = 1,
    api_key: ApiKey | None = None,
    now: datetime | None = None,
) -> Hold:
    """Hold the slot at `starts_at` (assigning a free staff member when none is asked for)."""
    now = now or djtz.now()
    with transaction.atomic():
        reservation = slot_reserve(
            service=service, location=location, starts_at=starts_at, staff=staff, party_size=party_size, now=now
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
            expires_at=now + timedelta(minutes=organization.hold_minutes),
            api_key=api_key,
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
