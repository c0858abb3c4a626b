"""The calendar invite: RFC 5545 parsed back with icalendar, and its signed link."""

from datetime import UTC
from urllib.parse import parse_qs, urlsplit

import pytest
from icalendar import Calendar

from bookings.ics import booking_ics, invite_path
from bookings.services.actors import SYSTEM
from bookings.services.bookings import booking_reschedule
from bookings.services.status import booking_cancel
from organizations.models import Customer, Service
from tests.factories import future_day, local_dt, make_core_booking

NY = "America/New_York"


@pytest.fixture
def booking(demo, settings):
    settings.SITE_URL = "https://book.example.com"
    settings.DEFAULT_FROM_EMAIL = "bookings@example.com"
    start = local_dt(NY, future_day(weekday=2), 9).astimezone(UTC)
    return make_core_booking(
        Service.objects.get(slug="haircut"),
        starts_at=start,
        customer=Customer.objects.get(email="jane@example.com"),
        timezone=NY,
        contact={"name": "Jane Doe", "email": "jane@example.com", "phone": "+1234567890"},
    )


def event_of(ics: bytes):
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


@pytest.mark.django_db
def test_invite_fields(booking):
    calendar, event = event_of(booking_ics(booking))
    assert calendar["VERSION"] == "2.0"
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["PRODID"]
    assert str(event["UID"]) == f"{booking.public_id}@book.example.com"
    assert event.decoded("DTSTART") == booking.starts_at
    assert event.decoded("DTSTART").utcoffset().total_seconds() == 0
    assert event.decoded("DTEND") == booking.ends_at
    assert "DTSTAMP" in event
    assert str(event["SUMMARY"]) == "Haircut at Acme Salon"
    assert str(event["LOCATION"]) == "123 Main St, Suite 100"
    description = str(event["DESCRIPTION"])
    assert f"Confirmation number: {booking.confirmation_number}" in description
    assert (
        f"https://book.example.com/manage-booking?confirmation={booking.confirmation_number}"
        "&contact=jane%40example.com" in description
    )
    assert str(event["ORGANIZER"]) == "mailto:bookings@example.com"
    assert event["ORGANIZER"].params["CN"] == "Acme Salon"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:jane@example.com"
    assert attendee.params["CN"] == "Jane Doe"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["SEQUENCE"] == 0


@pytest.mark.django_db
def test_uid_stays_and_sequence_grows_on_reschedule(booking):
    uid = str(event_of(booking_ics(booking))[1]["UID"])
    moved = booking_reschedule(
        booking=booking, starts_at=booking.starts_at.replace(hour=booking.starts_at.hour + 2), actor=SYSTEM
    )
    _, event = event_of(booking_ics(moved))
    assert str(event["UID"]) == uid
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == moved.starts_at


@pytest.mark.django_db
def test_cancelled_booking_is_method_cancel_status_cancelled(booking):
    cancelled = booking_cancel(booking=booking, actor=SYSTEM, reason="changed plans")
    calendar, event = event_of(booking_ics(cancelled))
    assert calendar["METHOD"] == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"


@pytest.mark.django_db
def test_pending_booking_is_tentative(booking):
    booking.status = "pending"
    _, event = event_of(booking_ics(booking))
    assert str(event["STATUS"]) == "TENTATIVE"


@pytest.mark.django_db
def test_signed_link_serves_the_file(api_client, booking):
    response = api_client.get(invite_path(booking), HTTP_ACCEPT="text/calendar")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    _, event = event_of(response.content)
    assert str(event["UID"]).startswith(booking.public_id)


@pytest.mark.django_db
def test_without_a_valid_token_is_404(api_client, booking):
    path = urlsplit(invite_path(booking)).path
    token = parse_qs(urlsplit(invite_path(booking)).query)["token"][0]
    for query in ("", "?token=", "?token=forged", f"?token={token[:-1]}x"):
        response = api_client.get(path + query)
        assert response.status_code == 404
        assert response.json() == {"detail": "Booking not found"}
    other = make_core_booking(
        booking.service, starts_at=booking.starts_at.replace(hour=booking.starts_at.hour + 3), timezone=NY
    )
    # A token is bound to its booking: it does not open another one.
    assert (
        api_client.get(f"/api/calendar/v1/public/bookings/{other.public_id}/invite.ics?token={token}").status_code
        == 404
    )
    assert (
        api_client.get(f"/api/calendar/v1/public/bookings/book_nosuchone/invite.ics?token={token}").status_code == 404
    )
