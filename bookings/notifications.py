"""Emails to customers. Sent after the transaction that made the change has committed.

Callers register `transaction.on_commit(partial(booking_confirmation_send, booking))`, so a
rolled-back booking never sends mail and a slow SMTP server never holds a lock. A caller that
already holds the booking (with its organization, service and location loaded) passes the
instance, which is what was just committed; others pass its pk and the booking is read again.
"""

import logging
from typing import TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from bookings.ics import booking_ics, invite_url, invitee, manage_url
from bookings.models import Booking, BookingStatus, Participant

logger = logging.getLogger(__name__)


class LocalTimes(TypedDict):
    """When a booking is, in words, in the zone its customer reads it in (the emails' context)."""

    date: str
    time: str
    timezone: str


def booking_local_times(booking: Booking) -> LocalTimes:
    """Start and end in the booking's time zone, as a customer reads them."""
    tz = ZoneInfo(booking.timezone) if booking.timezone else booking.location.tz
    start, end = booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz)
    return {
        "date": f"{start:%A, %B} {start.day}, {start:%Y}",
        "time": f"{start:%I:%M %p}".lstrip("0") + " - " + f"{end:%I:%M %p}".lstrip("0"),
        "timezone": tz.key,
    }


def booking_confirmation_message(booking: Booking, *, participant: Participant | None = None) -> EmailMultiAlternatives:
    """The confirmation email with its invite attached (text/calendar; method=REQUEST).

    `participant`: the email of one participant of a group session (their name, their seats, their
    own invite link), rather than of the session's contact.
    """
    name, email, _phone = invitee(booking, participant)
    # A class waiting for its minimum: the place is booked, the class not confirmed yet.
    awaiting_minimum = booking.is_group and booking.status == BookingStatus.PENDING
    context = {
        "booking": booking,
        "awaiting_minimum": awaiting_minimum,
        "capacity_min": booking.service.capacity_min,
        "name": name,
        "party_size": participant.party_size if participant is not None else booking.party_size,
        "service_name": booking.service.name,
        "organization_name": booking.organization.name,
        "location": booking.location,
        "manage_url": manage_url(booking, email),
        "invite_url": invite_url(booking, participant),
        **booking_local_times(booking),
    }
    headline = "Booking received" if awaiting_minimum else "Booking confirmed"
    subject = f"{headline} - {booking.service.name} ({booking.confirmation_number})"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/booking_confirmation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
    )
    message.attach_alternative(render_to_string("emails/booking_confirmation.html", context), "text/html")
    message.attach("invite.ics", booking_ics(booking, participant=participant), "text/calendar; method=REQUEST")
    return message


def booking_confirmation_send(booking: Booking | int, *, participant: Participant | None = None) -> bool:
    """Email the customer their confirmation. False (and nothing sent) without an email address.

    `booking`: the committed instance (its organization, service and location already loaded, so
    nothing is read again), or a pk to read it by. `participant`: as for the message.
    Runs after commit: a failing mail server is logged, never turned into a failed booking.
    """
    found = (
        booking
        if isinstance(booking, Booking)
        else Booking.objects.select_related("organization", "service", "location").filter(pk=booking).first()
    )
    if found is None or not invitee(found, participant)[1]:
        return False
    try:
        booking_confirmation_message(found, participant=participant).send()
    except Exception:
        logger.exception("Could not send the confirmation email of booking %s", found.public_id)
        return False
    return True


def session_confirmed_notify(session_id: int, *, except_customer_id: int | None = None) -> int:
    """Email each participant of a group session now confirmed: it goes ahead, with its invite.

    Runs after the commit that confirmed it, over one mail connection; returns the number sent.
    A failing mail server is logged, never raised.
    """
    session = Booking.objects.select_related("organization", "service", "location").filter(pk=session_id).first()
    if session is None or session.status != BookingStatus.CONFIRMED:
        return 0
    participants = session.participants.filter(status=Participant.Status.ACTIVE).select_related("customer")
    if except_customer_id is not None:
        participants = participants.exclude(customer_id=except_customer_id)
    recipients = [p for p in participants if p.customer.email]
    if not recipients:
        return 0
    try:
        messages = [booking_confirmation_message(session, participant=p) for p in recipients]
        return get_connection().send_messages(messages) or 0
    except Exception:
        logger.exception("Could not send the confirmation notices of session %s", session.public_id)
        return 0
