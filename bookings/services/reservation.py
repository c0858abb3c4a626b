"""Reserve a slot: lock the resources it needs, then re-check it, inside the caller's transaction.

Holds and bookings both go through `slot_reserve`, so a slot that looked free a moment ago but
was taken meanwhile answers 409, never a duplicate.

Locks are taken once per transaction, every key at once (`resources_lock` sorts them): a writer
that needed a second call could take its keys in an order that inverts against another writer's
and deadlock. So the keys a slot needs are known before anything is read: `slot_locks` names
them (the staff member asked for; else every active staff member of the service, or the location
when the service has none; a group session's own key besides). A writer of several slots (a
recurring series, several customers into one class) collects the keys of all of them with
`slots_locks`, locks once, and passes the held locks to each `slot_reserve`.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

from bookings.availability import Slot, slot_check
from bookings.locking import lock_key, resources_lock, resources_lock_riding
from bookings.models import Booking
from holds.models import Hold
from organizations.compiled import RidingSelect, insert_with_riders
from organizations.errors import Conflict, Unprocessable
from organizations.models import Location, Service, StaffMember, Team

M = TypeVar("M", bound=models.Model)
T = TypeVar("T")


@dataclass(frozen=True)
class Reservation:
    slot: Slot
    staff_id: int | None  # the staff member who will serve it (assigned when none was asked for)
    staff: StaffMember | None = field(default=None, compare=False)  # that staff member's row, when already read


@dataclass(frozen=True)
class SlotLocks:
    """The writer locks some slots need, and the staff rows read to name them."""

    keys: frozenset[str]
    members: dict[int, StaffMember] = field(default_factory=dict, compare=False)


def slots_locks(
    *, service: Service, location: Location, starts: Iterable[datetime], staff: StaffMember | None = None
) -> SlotLocks:
    """The locks every slot of `service` at `location` starting at one of `starts` needs (one query
    at most: the service's staff, when none is asked for)."""
    keys: set[str] = set()
    if service.is_group:
        keys |= {lock_key("group", service.pk, location.pk, start.astimezone(UTC).isoformat()) for start in starts}
    if staff is not None:
        return SlotLocks(frozenset(keys | {lock_key("staff", staff.pk)}), {staff.pk: staff})
    # Any free staff member will do (or hosts a session not opened yet): lock them all.
    members = {member.pk: member for member in service.staff.filter(active=True).order_by("id")}
    keys |= {lock_key("staff", staff_id) for staff_id in members}
    if not members and not service.is_group:  # an appointment without staff: the location is the resource
        keys.add(lock_key("location", location.pk))
    return SlotLocks(frozenset(keys), members)


def slot_locks(
    *, service: Service, location: Location, starts_at: datetime, staff: StaffMember | None = None
) -> SlotLocks:
    return slots_locks(service=service, location=location, starts=[starts_at], staff=staff)


def locks_take(locks: SlotLocks) -> SlotLocks:
    """Take `locks` until the current transaction ends (the one lock call of that transaction)."""
    resources_lock(locks.keys)
    return locks


def locks_take_riding(locks: SlotLocks, statement: Callable[[RidingSelect | None], T]) -> T:
    """`locks_take(locks)` inside `statement(riding)` where it can carry them, which it runs (one
    round trip fewer: bookings.locking's `resources_lock_riding`); returns what the statement gave."""
    return resources_lock_riding(locks.keys, statement)


def booker_party_size_check(*, service: Service, party_size: int) -> None:
    """One booker takes at most the service's `max_party_size` places (a class's capacity is the
    whole class, not one customer's share): 422 naming party_size."""
    if 1 < party_size <= service.capacity_max and party_size > service.max_party_size:
        raise Unprocessable(
            f"party_size: one booking may take at most {service.max_party_size} places of {service.name}"
        )


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
    locks: SlotLocks | None = None,
) -> Reservation:
    """Lock and re-check the slot at `starts_at`; raises Unprocessable (not a slot) or Conflict (taken).

    Must run inside `transaction.atomic()`; the locks are held until it ends. `locks`: already
    taken by the caller (`locks_take`), covering this slot; else this takes the slot's own.
    """
    assert transaction.get_connection().in_atomic_block, "slot_reserve needs an open transaction"
    if locks is None:
        locks = locks_take(slot_locks(service=service, location=location, starts_at=starts_at, staff=staff))
    slot = slot_check(
        service,
        starts_at,
        location=location,
        staff=staff,
        team=team,
        party_size=party_size,
        now=now,
        ignore_booking=ignore_booking,
        ignore_hold=ignore_hold,
        enforce_policy=enforce_policy,
    )
    if staff is not None and not service.is_group:
        return Reservation(slot, staff.pk, staff)
    # The first free staff member (for a session already open, its host).
    staff_id = slot.staff_ids[0] if slot.staff_ids else None
    return Reservation(slot, staff_id, locks.members.get(staff_id) if staff_id is not None else None)


def row_insert(model: type[M], **fields: Any) -> M:
    """Create a row; a database guard refusing it (exclusion or unique constraint) is a 409.

    Inside the caller's transaction, without a savepoint of its own: the Conflict must leave the
    caller's atomic block, which rolls back (as every caller's does).
    """
    try:
        return model._default_manager.create(**fields)
    except IntegrityError as exc:
        transaction.set_rollback(True)  # the transaction is aborted; nothing more may run in it
        raise Conflict() from exc


def row_insert_with(
    model: type[M], riders: Callable[[M], Sequence[models.Model]], **fields: Any
) -> tuple[M, list[models.Model]]:
    """`row_insert`, and the new rows `riders(row)` gives inserted with it (organizations.compiled's
    `insert_with_riders`: in the same statement on PostgreSQL); returns the row and them."""
    try:
        return insert_with_riders(lambda: model._default_manager.create(**fields), riders)
    except IntegrityError as exc:
        transaction.set_rollback(True)
        raise Conflict() from exc
