"""The emails each change sends, queued in the change's own transaction (bookings.notifications.outbox).

Called by the services (bookings/services/), so that every surface (the APIs, the admin, the
customer pages, Stripe's webhook) emails the same people the same way. Who hears what is listed
in bookings/notifications/__init__.py.
"""

from datetime import datetime

from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from bookings.ics import invitee
from bookings.models import Booking, OutboundEmail, Participant
from bookings.notifications.content import (
    booking_recipients,
    cancellation_rendered,
    confirmation_rendered,
    reschedule_rendered,
)
from bookings.notifications.outbox import PreparedEmails, email_message, emails_prepare, emails_queue, outbox_row


def booking_confirmation_message(booking: Booking, *, participant: Participant | None = None) -> EmailMultiAlternatives:
    """The confirmation email as it would be sent (with its invite), without queueing it."""
    row = outbox_row(booking=booking, rendered=confirmation_rendered(booking, participant), now=timezone.now())
    return email_message(row)


def booking_confirmation_queue(booking: Booking, *, participant: Participant | None = None) -> list[OutboundEmail]:
    """The booker's confirmation ("received" for a place in a class below its minimum).

    `booking`: the instance just written, with its organization, service and location loaded (it
    is rendered from them, once). `participant`: the booker's own place in a group session.
    Nothing without an email address.
    """
    if not invitee(booking, participant)[1]:
        return []
    return emails_queue(booking=booking, rendered=[confirmation_rendered(booking, participant)])


def booking_confirmation_prepared(booking: Booking) -> PreparedEmails | None:
    """`booking_confirmation_queue` of an appointment, its row not saved yet: for a caller that
    saves it with the booking (bookings.services.public_booking). None without an email address."""
    if not invitee(booking, None)[1]:
        return None
    return emails_prepare(booking=booking, rendered=[confirmation_rendered(booking, None)])


def session_confirmed_queue(session: Booking, *, except_customer_id: int | None = None) -> list[OutboundEmail]:
    """Each active participant of a class now confirmed: it goes ahead, with an invite whose
    SEQUENCE grew. `except_customer_id`: a booker whose own request sends their confirmation."""
    recipients = [p for p in booking_recipients(session) if p is None or p.customer_id != except_customer_id]
    return emails_queue(booking=session, rendered=[confirmation_rendered(session, p) for p in recipients])


def booking_rescheduled_queue(
    booking: Booking, *, previous_starts_at: datetime, previous_ends_at: datetime
) -> list[OutboundEmail]:
    """The contact of a moved appointment: the new time, the old one, an updated invite."""
    if not booking.contact_email:
        return []
    rendered = reschedule_rendered(booking, previous_starts_at=previous_starts_at, previous_ends_at=previous_ends_at)
    return emails_queue(booking=booking, rendered=[rendered])


def booking_cancelled_queue(booking: Booking, *, now: datetime | None = None) -> list[OutboundEmail]:
    """Everyone the booking was for: its contact, or every active participant of a class, each
    with their own cancelled invite. Nothing for a booking that has already ended."""
    if booking.ends_at <= (now or timezone.now()):
        return []
    rendered = [cancellation_rendered(booking, p) for p in booking_recipients(booking)]
    return emails_queue(booking=booking, rendered=rendered)


def participant_left_queue(participant: Participant, *, now: datetime | None = None) -> list[OutboundEmail]:
    """The participant who left a class (only them): their place is cancelled, their invite too."""
    session = participant.booking
    if not participant.customer.email or session.ends_at <= (now or timezone.now()):
        return []
    return emails_queue(booking=session, rendered=[cancellation_rendered(session, participant)])
