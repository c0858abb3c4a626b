"""The audit trail: one BookingEvent row per change (who, when, from, to)."""

from bookings.models import Booking, BookingEvent
from bookings.services.actors import Actor

# What a change was from or to: a status, a note, a customer's uuid, or a booking's times and staff.
AuditValue = str | dict[str, str | int] | None


def audit_record(
    *, booking: Booking, action: str, actor: Actor, from_value: AuditValue = None, to_value: AuditValue = None
) -> BookingEvent:
    event = audit_row(booking=booking, action=action, actor=actor, from_value=from_value, to_value=to_value)
    event.save(force_insert=True)
    return event


def audit_row(
    *, booking: Booking, action: str, actor: Actor, from_value: AuditValue = None, to_value: AuditValue = None
) -> BookingEvent:
    """The audit row of a change, not yet saved (a new booking's rides with its INSERT)."""
    return BookingEvent(
        booking=booking,
        action=action,
        actor=actor.label,
        actor_key=actor.key,
        actor_user=actor.user,
        from_value=from_value,
        to_value=to_value,
    )
