"""Calendar invites (RFC 5545) for a booking, and the signed links that hand them out.

The invite URL goes into emails and API answers, so it carries a signature instead of an API
key: whoever has the link can add the booking to a calendar, nobody can guess another one.
"""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone as djtz
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int, int_to_base36
from icalendar import Calendar, Event, vCalAddress
from icalendar.enums import STATUS

from bookings.models import Booking, BookingStatus, Participant

INVITE_SALT = "bookings.invite-ics"
MANAGE_SALT = "bookings.manage-booking"
# A manage link opens its booking until this long after the booking ends (or after it was issued,
# whichever is later); then the page asks for the confirmation number and contact again.
MANAGE_LINK_GRACE = timedelta(days=30)
PRODID = "-//Booking platform//Bookings//EN"

ICS_STATUS: dict[str, STATUS] = {
    BookingStatus.PENDING: STATUS.TENTATIVE,
    BookingStatus.CANCELLED: STATUS.CANCELLED,
}


def _signed_value(booking: Booking, participant: Participant | None) -> str:
    return booking.public_id if participant is None else f"{booking.public_id}:{participant.uuid}"


def invite_token(booking: Booking, participant: Participant | None = None) -> str:
    """An HMAC of the booking's public id (and the participant's uuid), salted for this one purpose."""
    return signing.Signer(salt=INVITE_SALT).signature(_signed_value(booking, participant))


def invite_token_valid(booking: Booking, token: str | None, participant: Participant | None = None) -> bool:
    if not token:
        return False
    return constant_time_compare(invite_token(booking, participant), token)


def invite_path(booking: Booking, participant: Participant | None = None) -> str:
    """The `ics_url` of the public API: relative, like the contract's example, with its token.

    A participant of a group session gets a link of their own: the session is one booking, and
    its invite names them, not whoever opened the session.
    """
    path = reverse("public-booking-invite", kwargs={"booking_id": booking.public_id})
    query = {"token": invite_token(booking, participant)}
    if participant is not None:
        query["participant"] = str(participant.uuid)
    return f"{path}?{urlencode(query)}"


def invite_url(booking: Booking, participant: Participant | None = None) -> str:
    return settings.SITE_URL + invite_path(booking, participant)


def invitee(booking: Booking, participant: Participant | None = None) -> tuple[str, str, str]:
    """Name, email and phone of whom the invite (or email) is for: the participant, else the contact."""
    if participant is not None:
        customer = participant.customer
        return customer.full_name, customer.email, customer.phone
    return booking.contact_name, booking.contact_email, booking.contact_phone


def _contact_key(contact: str) -> str:
    """The part of a contact that identifies it, as the lookup compares it: a lower-cased email, or a
    phone number's digits. `Jane@Example.com` and `jane@example.com` sign alike."""
    contact = (contact or "").strip()
    if "@" in contact:
        return contact.lower()
    return "".join(c for c in contact if c in "0123456789")


def _manage_signature(booking: Booking, contact: str, expires: str) -> str:
    value = f"{booking.public_id}:{_contact_key(contact)}:{expires}"
    return signing.Signer(salt=MANAGE_SALT).signature(value)


def manage_token(booking: Booking, contact: str, *, now: datetime | None = None) -> str:
    """A signed token naming the booking and the contact, valid until MANAGE_LINK_GRACE after the booking
    ends: `<expiry in base36 seconds>.<HMAC>`, salted for this one purpose (it opens nothing else)."""
    now = now or djtz.now()
    expires = int((max(booking.ends_at, now) + MANAGE_LINK_GRACE).timestamp())
    stamp = int_to_base36(expires)
    return f"{stamp}.{_manage_signature(booking, contact, stamp)}"


def manage_token_valid(booking: Booking, contact: str, token: str | None, *, now: datetime | None = None) -> bool:
    """True if `token` was made by `manage_token` for this booking and contact and has not expired."""
    stamp, _, signature = (token or "").partition(".")
    if not stamp or not signature or len(stamp) > 13:
        return False
    try:
        expires = base36_to_int(stamp)
    except ValueError:
        return False
    if not constant_time_compare(_manage_signature(booking, contact, stamp), signature):
        return False
    return (now or djtz.now()).timestamp() < expires


def manage_path(booking: Booking, contact: str) -> str:
    """The customer's manage-booking page with what the lookup needs and a signed `token`, which opens
    the booking without the lookup's failure counters (a wrong or expired one falls back to the form)."""
    query = urlencode(
        {"confirmation": booking.confirmation_number, "contact": contact, "token": manage_token(booking, contact)}
    )
    return f"{reverse('pages:manage')}?{query}"


def manage_url(booking: Booking, contact: str) -> str:
    """The absolute manage link of emails and invites (SITE_URL + `manage_path`)."""
    return settings.SITE_URL + manage_path(booking, contact)


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def booking_uid(booking: Booking) -> str:
    """Stable across reschedules and cancellation, so calendars update the same event."""
    return f"{booking.public_id}@{site_host()}"


def booking_ics(booking: Booking, *, participant: Participant | None = None) -> bytes:
    """The booking as a one-event calendar: METHOD REQUEST, or CANCEL once it is cancelled.

    `participant`: the invite of one participant of a group session, who is its ATTENDEE (not the
    session's contact) and whose invite is cancelled once they have left.
    """
    name, email, phone = invitee(booking, participant)
    cancelled = booking.status == BookingStatus.CANCELLED or (
        participant is not None and participant.status == Participant.Status.LEFT
    )
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
            f"Manage your booking: {manage_url(booking, email or phone)}",
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
        status=STATUS.CANCELLED if cancelled else ICS_STATUS.get(booking.status, STATUS.CONFIRMED),
        sequence=booking.sequence,
    )
    calendar = Calendar.new(prodid=PRODID, method="CANCEL" if cancelled else "REQUEST", subcomponents=[event])
    ical: bytes = calendar.to_ical()  # icalendar leaves to_ical unannotated
    return ical
