"""Calendar invites (RFC 5545) for a booking, and the signed links that hand them out.

The invite URL goes into emails and API answers, so it carries a signature instead of an API
key: whoever has the link can add the booking to a calendar, nobody can guess another one.
"""

from datetime import UTC
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone as djtz
from django.utils.crypto import constant_time_compare
from icalendar import Calendar, Event, vCalAddress

from bookings.models import Booking, BookingStatus

INVITE_SALT = "bookings.invite-ics"
PRODID = "-//Booking platform//Bookings//EN"

ICS_STATUS = {
    BookingStatus.PENDING: "TENTATIVE",
    BookingStatus.CANCELLED: "CANCELLED",
}


def invite_token(booking: Booking) -> str:
    """An HMAC of the booking's public id, salted for this one purpose."""
    return signing.Signer(salt=INVITE_SALT).signature(booking.public_id)


def invite_token_valid(booking: Booking, token: str | None) -> bool:
    return bool(token) and constant_time_compare(invite_token(booking), token)


def invite_path(booking: Booking) -> str:
    """The `ics_url` of the public API: relative, like the contract's example, with its token."""
    path = reverse("public-booking-invite", kwargs={"booking_id": booking.public_id})
    return f"{path}?{urlencode({'token': invite_token(booking)})}"


def invite_url(booking: Booking) -> str:
    return settings.SITE_URL + invite_path(booking)


def manage_url(booking: Booking, contact: str | None = None) -> str:
    """The customer's manage-booking page, pre-filled with what the lookup needs."""
    contact = contact or booking.contact_email or booking.contact_phone
    query = urlencode({"confirmation": booking.confirmation_number, "contact": contact})
    return f"{settings.SITE_URL}/manage-booking?{query}"


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def booking_uid(booking: Booking) -> str:
    """Stable across reschedules and cancellation, so calendars update the same event."""
    return f"{booking.public_id}@{site_host()}"


def booking_ics(booking: Booking, *, recipient: dict | None = None) -> bytes:
    """The booking as a one-event calendar: METHOD REQUEST, or CANCEL once it is cancelled.

    `recipient` ({"name", "email"}) replaces the booking's contact as ATTENDEE, for a participant
    who joined a group session someone else opened.
    """
    name = (recipient or {}).get("name") or booking.contact_name
    email = (recipient or {}).get("email") or booking.contact_email
    cancelled = booking.status == BookingStatus.CANCELLED
    organization = booking.organization
    location = booking.location
    organizer = vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL}")
    organizer.params["CN"] = organization.name
    attendees = []
    if email:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["CN"] = name or email
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = "ACCEPTED"
        attendees.append(attendee)
    description = "\n".join(
        [
            f"Confirmation number: {booking.confirmation_number}",
            f"Manage your booking: {manage_url(booking, email)}",
        ]
    )
    event = Event.new(
        uid=booking_uid(booking),
        stamp=djtz.now().astimezone(UTC),
        start=booking.starts_at.astimezone(UTC),
        end=booking.ends_at.astimezone(UTC),
        summary=f"{booking.service.name} at {organization.name}",
        location=location.value or location.name,
        description=description,
        organizer=organizer,
        attendees=attendees,
        status=ICS_STATUS.get(booking.status, "CONFIRMED"),
        sequence=booking.sequence,
    )
    calendar = Calendar.new(prodid=PRODID, method="CANCEL" if cancelled else "REQUEST", subcomponents=[event])
    return calendar.to_ical()
