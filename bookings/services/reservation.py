"""Reserve a slot: lock the resources it needs, then re-check it, inside the caller's transaction.

Holds and bookings both go through `slot_reserve`, so a slot that looked free a moment ago but
was taken meanwhile answers 409, never a duplicate. Lock order (global, so writers cannot
deadlock): a group session's key first, then staff members; several staff members are
always locked in one call, which takes them in one global order.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import IntegrityError, transaction

from bookings.availability import Slot, slot_check
from bookings.locking import lock_key, resources_lock
from bookings.models import Booking
from holds.models import Hold
from organizations.errors import Conflict
from organizations.models import Location, Service, StaffMember, Team


@dataclass(frozen=True)
class Reservation:
    slot: Slot
    staff_id: int | None  # the staff member who will serve it (assigned when none was asked for)
    staff: StaffMember | None = field(default=None, compare=False)  # that staff member's row, when already read


def slot_reserve(
    *,
    service: Service,
    location: Location,
    starts_at: datetime,
    now: datetime,
    staff: StaffMember | None = None,
    team: Team | None = None,
    party_size: int = 1,
    ignore_booking: Booking | None = None,
    ignore_hold: Hold | None = None,
    enforce_policy: bool = True,
) -> Reservation:
    """Lock and re-check the slot at `starts_at`; raises Unprocessable (not a slot) or Conflict (taken).

    Must run inside `transaction.atomic()`; the locks are held until it ends.
    """
    assert transaction.get_connection().in_atomic_block, "slot_reserve needs an open transaction"
    check = dict(
        location=location,
        team=team,
        party_size=party_size,
        now=now,
        ignore_booking=ignore_booking,
        ignore_hold=ignore_hold,
        enforce_policy=enforce_policy,
    )
    if staff is not None and not service.is_group:
        resources_lock([lock_key("staff", staff.pk)])
        return Reservation(slot_check(service, starts_at, staff=staff, **check), staff.pk, staff)

    if service.is_group:
        resources_lock([lock_key("group", service.pk, location.pk, starts_at.astimezone(UTC).isoformat())])
        slot = slot_check(service, starts_at, staff=staff, **check)
        if not slot.staff_ids:
            return Reservation(slot, None)
        # A session not opened yet also needs its host: lock and look again.
        resources_lock([lock_key("staff", slot.staff_ids[0])])
        slot = slot_check(service, starts_at, staff=staff, **check)
        return Reservation(slot, slot.staff_ids[0] if slot.staff_ids else None)

    # Any free staff member will do: lock them all (one ordered call), look once, take the first.
    members = {member.pk: member for member in service.staff.filter(active=True).order_by("id")}
    if members:
        resources_lock([lock_key("staff", staff_id) for staff_id in members])
    else:  # a service without staff: the location is the resource
        resources_lock([lock_key("location", location.pk)])
    slot = slot_check(service, starts_at, **check)
    staff_id = slot.staff_ids[0] if slot.staff_ids else None
    return Reservation(slot, staff_id, members.get(staff_id))


def row_insert(model, **fields):
    """Create a row; a database guard refusing it (exclusion or unique constraint) is a 409.

    Inside the caller's transaction, without a savepoint of its own: the Conflict must leave the
    caller's atomic block, which rolls back (as every caller's does).
    """
    try:
        return model.objects.create(**fields)
    except IntegrityError as exc:
        transaction.set_rollback(True)  # the transaction is aborted; nothing more may run in it
        raise Conflict() from exc
