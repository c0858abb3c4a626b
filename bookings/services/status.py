"""The booking state machine. Every status change goes through `booking_transition`."""

from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from bookings.notifications import booking_cancelled_queue, session_confirmed_queue
from bookings.services.actors import Actor
from bookings.services.audit import audit_record
from bookings.webhooks import booking_event_data, webhook_emit
from organizations.errors import Unprocessable
from organizations.models import Customer

S = BookingStatus
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.CONFIRMED, S.CANCELLED},
    S.CONFIRMED: {S.IN_PROGRESS, S.COMPLETED, S.CANCELLED, S.NO_SHOW},
    S.IN_PROGRESS: {S.COMPLETED, S.CANCELLED},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
    S.NO_SHOW: set(),
}
EVENT_FOR_STATUS: dict[str, str] = {
    S.CONFIRMED: "booking.confirmed",
    S.CANCELLED: "booking.cancelled",
    S.COMPLETED: "booking.completed",
    S.NO_SHOW: "booking.no_show",
}


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS.get(from_status, set())


@transaction.atomic
def booking_transition(
    *, booking: Booking, to_status: str, actor: Actor, reason: str = "", notice_except: Customer | None = None
) -> Booking:
    """Move a booking to `to_status` if the state machine allows it (else 422).

    Moving to the status it already has changes nothing and is not an error. A pending class that
    becomes confirmed (its minimum reached, or a merchant's decision) emails its participants,
    except `notice_except`, who hears from their own request. A cancellation, whoever makes it,
    emails the customer (every active participant of a class). Emails are written to the outbox
    in this transaction and leave after it commits (bookings.notifications).
    """
    if to_status not in S.values:
        raise Unprocessable(f"status: '{to_status}' is not a booking status")
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("organization", "service", "location")
        .get(pk=booking.pk)
    )
    if booking.status == to_status:
        return booking
    if not can_transition(booking.status, to_status):
        raise Unprocessable(f"status: a {booking.status} booking cannot become {to_status}")
    from_status = booking.status
    booking.status = to_status
    fields = ["status", "updated_at"]
    if to_status == S.CANCELLED:
        booking.cancelled_at = timezone.now()
        booking.cancellation_reason = reason[:500]
        fields += ["cancelled_at", "cancellation_reason"]
    class_confirmed = booking.is_group and from_status == S.PENDING and to_status == S.CONFIRMED
    if class_confirmed:
        # The emailed invite replaces the tentative one: a higher SEQUENCE makes calendars apply it.
        booking.sequence += 1
        fields.append("sequence")
    booking.save(update_fields=fields)
    if class_confirmed:
        except_id = notice_except.pk if notice_except is not None else None
        session_confirmed_queue(booking, except_customer_id=except_id)
    elif to_status == S.CANCELLED:
        booking_cancelled_queue(booking)
    audit_record(booking=booking, action="status_changed", actor=actor, from_value=from_status, to_value=to_status)
    if to_status in EVENT_FOR_STATUS:
        webhook_emit(
            organization=booking.organization, event_type=EVENT_FOR_STATUS[to_status], data=booking_event_data(booking)
        )
    return booking


def booking_cancel(*, booking: Booking, actor: Actor, reason: str = "") -> Booking:
    """Cancel (never delete): the slot is free again, and the customer (every active participant of
    a class) is emailed a cancellation with a METHOD:CANCEL invite. Cancelling a cancelled booking
    is a no-op and emails no one."""
    if booking.status == S.CANCELLED:
        return booking
    return booking_transition(booking=booking, to_status=S.CANCELLED, actor=actor, reason=reason)
