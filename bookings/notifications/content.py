"""What each email says: rendered once, from the booking as the change left it, for one recipient.

Every email is HTML with a plain-text alternative, shows times in the booking's time zone (named),
and carries the manage link and the invite (REQUEST, or CANCEL once cancelled or left). In a
group session each participant reads their own name, places, links and invite, never another's.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from bookings.ics import booking_ics, invite_url, invitee, manage_url
from bookings.models import Booking, BookingStatus, OutboundEmail, Participant
from bookings.money import money

Kind = OutboundEmail.Kind

# Reasons the platform itself writes when a surface gives none: saying them to a customer adds nothing.
UNSPOKEN_REASONS = {"Cancelled through the API", "Series cancelled"}


@dataclass(frozen=True)
class RenderedEmail:
    """One email for one recipient, ready to be stored in the outbox."""

    kind: str
    to: str
    subject: str
    text: str
    html: str
    ics: str
    ics_method: str
    participant: Participant | None = None


class LocalTimes(TypedDict):
    """When a booking is, in words, in the zone its customer reads it in."""

    date: str
    start: str
    time: str
    timezone: str


# A template's context: the booking's rows and the words and links derived from them.
Context = dict[str, Any]


def booking_zone(booking: Booking) -> ZoneInfo:
    return ZoneInfo(booking.timezone) if booking.timezone else booking.location.tz


def _clock(moment: datetime) -> str:
    return f"{moment:%I:%M %p}".lstrip("0")


def local_times(booking: Booking, starts_at: datetime, ends_at: datetime) -> LocalTimes:
    """Start and end in the booking's time zone, as a customer reads them."""
    tz = booking_zone(booking)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    return {
        "date": f"{start:%A, %B} {start.day}, {start:%Y}",
        "start": _clock(start),
        "time": f"{_clock(start)} - {_clock(end)}",
        "timezone": tz.key,
    }


def booking_local_times(booking: Booking) -> LocalTimes:
    return local_times(booking, booking.starts_at, booking.ends_at)


def booking_recipients(booking: Booking) -> list[Participant | None]:
    """Whom an email about the whole booking goes to: the contact of an appointment (None), or
    each active participant of a group session who has an email address."""
    if not booking.is_group:
        return [None] if booking.contact_email else []
    participants = booking.participants.filter(status=Participant.Status.ACTIVE).select_related("customer")
    return [p for p in participants if p.customer.email]


def _context(booking: Booking, participant: Participant | None) -> Context:
    name, email, _phone = invitee(booking, participant)
    return {
        "booking": booking,
        "name": name,
        "email": email,
        "party_size": participant.party_size if participant is not None else booking.party_size,
        "service_name": booking.service.name,
        "organization_name": booking.organization.name,
        "location": booking.location,
        "is_class": booking.is_group,
        "manage_url": manage_url(booking, email),
        "invite_url": invite_url(booking, participant),
        **booking_local_times(booking),
    }


def _invite_cancelled(booking: Booking, participant: Participant | None) -> bool:
    """As bookings.ics decides it: the booking is cancelled, or this participant has left."""
    left = participant is not None and participant.status == Participant.Status.LEFT
    return booking.status == BookingStatus.CANCELLED or left


def _rendered(
    kind: str, template: str, subject: str, context: Context, booking: Booking, participant: Participant | None
) -> RenderedEmail:
    # The email's own manage link, signed once: both name the invitee's email (the invite would
    # name their phone only for an invitee without one, whom no email reaches).
    link = context["manage_url"] if context["email"] else None
    ics = booking_ics(booking, participant=participant, manage_link=link).decode()
    return RenderedEmail(
        kind=kind,
        to=context["email"],
        subject=subject,
        text=render_to_string(f"emails/{template}.txt", context),
        html=render_to_string(f"emails/{template}.html", context),
        ics=ics,
        ics_method="CANCEL" if _invite_cancelled(booking, participant) else "REQUEST",
        participant=participant,
    )


def _subject(headline: str, booking: Booking) -> str:
    return f"{headline} - {booking.service.name} ({booking.confirmation_number})"


def confirmation_rendered(booking: Booking, participant: Participant | None = None) -> RenderedEmail:
    """The confirmation: "Booking confirmed", or "Booking received" for a place in a class below its minimum."""
    context = _context(booking, participant)
    awaiting_minimum = booking.is_group and booking.status == BookingStatus.PENDING
    context.update(awaiting_minimum=awaiting_minimum, capacity_min=booking.service.capacity_min)
    headline = _("Booking received") if awaiting_minimum else _("Booking confirmed")
    return _rendered(
        Kind.CONFIRMATION, "booking_confirmation", _subject(headline, booking), context, booking, participant
    )


def reschedule_rendered(booking: Booking, *, previous_starts_at: datetime, previous_ends_at: datetime) -> RenderedEmail:
    """The new time, the one it replaces, and an invite whose higher SEQUENCE moves the calendar event."""
    context = _context(booking, None)
    previous = local_times(booking, previous_starts_at, previous_ends_at)
    context.update(previous_date=previous["date"], previous_time=previous["time"])
    return _rendered(
        Kind.RESCHEDULE, "booking_rescheduled", _subject(_("Booking rescheduled"), booking), context, booking, None
    )


def cancellation_rendered(booking: Booking, participant: Participant | None = None) -> RenderedEmail:
    """The booking (or, for a participant who left, their place) is cancelled; the invite removes it.

    A deposit booking that Stripe's Checkout let expire says it was released because the deposit
    was not paid; otherwise the reason is shown when someone gave one, and a refunded deposit says so.
    """
    context = _context(booking, participant)
    place_only = participant is not None and participant.status == Participant.Status.LEFT
    deposit_unpaid = booking.payment_status == Booking.PaymentStatus.EXPIRED and not place_only
    reason = "" if place_only or deposit_unpaid else booking.cancellation_reason.strip()
    refunded = booking.payment_status == Booking.PaymentStatus.REFUNDED and booking.deposit_minor and not place_only
    context.update(
        place_only=place_only,
        deposit_unpaid=deposit_unpaid,
        refund=money(booking.deposit_minor, booking.organization.currency) if refunded else "",
        reason="" if reason in UNSPOKEN_REASONS else reason,
    )
    if deposit_unpaid:
        headline = _("Booking released")
    elif place_only:
        headline = _("Place cancelled")
    else:
        headline = _("Booking cancelled")
    return _rendered(Kind.CANCELLATION, "booking_cancelled", _subject(headline, booking), context, booking, participant)


def reminder_rendered(booking: Booking, participant: Participant | None = None) -> RenderedEmail:
    context = _context(booking, participant)
    subject = _("Reminder - %(service)s, %(date)s at %(start)s (%(number)s)") % {
        "service": booking.service.name,
        "date": context["date"],
        "start": context["start"],
        "number": booking.confirmation_number,
    }
    return _rendered(Kind.REMINDER, "booking_reminder", subject, context, booking, participant)
