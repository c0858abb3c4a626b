"""A booking as the pages show it: its details, add-to-calendar links, the manage link, the policy in words."""

from datetime import UTC, datetime
from urllib.parse import urlencode

from django.utils.translation import gettext as _

from bookings.ics import invite_path, manage_path
from bookings.models import Booking, BookingStatus
from bookings.money import money
from bookings.pages.common import duration_text
from bookings.services.self_service import ChangePolicy, ManagedBooking

GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"
OUTLOOK_CALENDAR = "https://outlook.live.com/calendar/0/action/compose"


def status_label(managed: ManagedBooking) -> str:
    booking = managed.booking
    status = managed.status
    if status == BookingStatus.PENDING:
        if booking.payment_status == Booking.PaymentStatus.REQUIRED:
            return _("Awaiting the deposit")
        if booking.is_group:
            return _("Booked: the class goes ahead once enough places are taken")
        return _("Pending")
    labels: dict[str, str] = {
        BookingStatus.CONFIRMED: _("Confirmed"),
        BookingStatus.CANCELLED: _("Cancelled"),
        BookingStatus.IN_PROGRESS: _("In progress"),
        BookingStatus.COMPLETED: _("Completed"),
        BookingStatus.NO_SHOW: _("Missed (no-show)"),
    }
    return labels.get(status, status)


def _utc_compact(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_links(managed: ManagedBooking, *, manage_link: str) -> dict[str, str]:
    """The invite (ICS download), and Google Calendar and Outlook's "add event" pages."""
    booking = managed.booking
    title = f"{booking.service.name} – {booking.organization.name}"
    where = booking.location.value or booking.location.name
    details = _("Confirmation number: %(number)s") % {"number": booking.confirmation_number}
    details += "\n" + _("Manage your booking: %(url)s") % {"url": manage_link}
    google = {
        "action": "TEMPLATE",
        "text": title,
        "dates": f"{_utc_compact(booking.starts_at)}/{_utc_compact(booking.ends_at)}",
        "details": details,
        "location": where,
        "ctz": booking.timezone,
    }
    outlook = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": title,
        "startdt": booking.starts_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "enddt": booking.ends_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "body": details,
        "location": where,
    }
    participant = managed.participant if booking.is_group else None
    return {
        "ics": invite_path(booking, participant),
        "google": f"{GOOGLE_CALENDAR}?{urlencode(google)}",
        "outlook": f"{OUTLOOK_CALENDAR}?{urlencode(outlook)}",
    }


def contact_for_links(managed: ManagedBooking) -> str:
    return managed.contact.get("email") or managed.contact.get("phone") or ""


def booking_context(managed: ManagedBooking, *, site_url: str = "") -> dict:
    """What `pages/_booking_details.html` shows of a booking."""
    booking = managed.booking
    contact = contact_for_links(managed)
    manage = manage_path(booking, contact)
    organization = booking.organization
    service = booking.service
    return {
        "booking": booking,
        "managed": managed,
        "status": managed.status,
        "status_label": status_label(managed),
        "contact": managed.contact,
        "party_size": managed.party_size,
        "price": money(service.price_minor * managed.party_size, organization.currency) if service.price_minor else "",
        "deposit": money(booking.deposit_minor, organization.currency) if booking.deposit_minor else "",
        "manage_path": manage,
        "manage_url": f"{site_url}{manage}",
        "calendar": calendar_links(managed, manage_link=f"{site_url}{manage}"),
        "duration": duration_text(service.duration_minutes),
    }


def policy_words(policy: ChangePolicy) -> str:
    """The organization's cancellation and reschedule policy, as one sentence or two."""
    cutoff = duration_text(policy.cutoff_minutes) if policy.cutoff_minutes else ""
    if cutoff:
        text = _("Free cancellation and rescheduling online until %(cutoff)s before the start.") % {"cutoff": cutoff}
    else:
        text = _("Free cancellation and rescheduling online until the start.")
    if policy.deposit_minor:
        text += " " + _(
            "If you cancel by then, your deposit of %(deposit)s is refunded in full; after that the booking "
            "can no longer be changed online and the deposit is kept."
        ) % {"deposit": money(policy.deposit_minor, policy.currency)}
    else:
        text += " " + _("After that, please contact %(organization)s to change the booking.") % {
            "organization": policy.organization_name
        }
    return text
