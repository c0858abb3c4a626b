"""A merchant's edit of a booking (PATCH): time, status and notes, all or nothing, each audited."""

from datetime import datetime

from django.db import transaction

from bookings.models import Booking, BookingStatus
from bookings.services.actors import Actor
from bookings.services.audit import audit_record
from bookings.services.bookings import booking_reschedule
from bookings.services.status import booking_cancel, booking_transition
from organizations.errors import Unprocessable


def booking_update(
    *,
    booking: Booking,
    actor: Actor,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    status: str | None = None,
    notes: str | None = None,
) -> Booking:
    """Apply the given changes in one transaction: if any is refused (409/422), none is kept.

    A new time goes through the scheduling core (`ends_at` alone moves the booking so that it
    ends then; with `starts_at` it must match the booking's length). A status goes through the
    state machine.
    """
    with transaction.atomic():
        if starts_at is not None or ends_at is not None:
            length = booking.ends_at - booking.starts_at
            if starts_at is None:
                assert ends_at is not None  # one of the two was given
                starts_at = ends_at - length
            elif ends_at is not None and ends_at - starts_at != length:
                minutes = int(length.total_seconds() // 60)
                raise Unprocessable(f"ends_at: must be {minutes} minutes after starts_at (the booking's length)")
            if starts_at != booking.starts_at:
                booking = booking_reschedule(booking=booking, starts_at=starts_at, actor=actor)
        if status is not None:
            if status == BookingStatus.CANCELLED:
                booking = booking_cancel(booking=booking, actor=actor, reason="Cancelled through the API")
            else:
                booking = booking_transition(booking=booking, to_status=status, actor=actor)
        if notes is not None and notes != booking.notes:
            audit_record(booking=booking, action="notes_changed", actor=actor, from_value=booking.notes, to_value=notes)
            booking.notes = notes
            booking.save(update_fields=["notes", "updated_at"])
    return booking
