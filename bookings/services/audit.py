"""The audit trail: one BookingEvent row per change (who, when, from, to)."""

from bookings.models import Booking, BookingEvent
from bookings.services.actors import Actor


def audit_record(*, booking: Booking, action: str, actor: Actor, from_value=None, to_value=None) -> BookingEvent:
    return BookingEvent.objects.create(
        booking=booking,
        action=action,
        actor=actor.label,
        actor_key=actor.key,
        actor_user=actor.user,
        from_value=from_value,
        to_value=to_value,
    )
