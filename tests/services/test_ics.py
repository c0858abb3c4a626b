"""The calendar invite: RFC 5545 parsed back with icalendar, and its signed link."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from icalendar import Calendar
from icalendar.parser import Contentline

from bookings.ics import _fold, booking_ics, invite_path
from bookings.models import BookingStatus, Participant
from bookings.services.actors import SYSTEM
from bookings.services.bookings import Contact, booking_reschedule, participant_leave
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
        contact=Contact(name="Jane Doe", email="jane@example.com", phone="+1234567890"),
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


@pytest.mark.django_db
def test_served_file_follows_two_reschedules_then_the_cancellation(api_client, booking):
    """The link handed out once keeps serving the booking as it is now: a calendar re-reading it
    replaces the event (same UID, higher SEQUENCE), then removes it."""
    link = invite_path(booking)
    uid = str(event_of(api_client.get(link).content)[1]["UID"])
    for hours, sequence in ((1, 1), (3, 2)):
        moved = booking_reschedule(
            booking=booking, starts_at=booking.starts_at.replace(hour=booking.starts_at.hour + hours), actor=SYSTEM
        )
        _, event = event_of(api_client.get(link).content)
        assert (str(event["UID"]), event["SEQUENCE"], event.decoded("DTSTART")) == (uid, sequence, moved.starts_at)
    booking_cancel(booking=moved, actor=SYSTEM, reason="changed plans")
    calendar, event = event_of(api_client.get(link).content)
    assert (calendar["METHOD"], str(event["STATUS"]), str(event["UID"])) == ("CANCEL", "CANCELLED", uid)


@pytest.mark.django_db
def test_link_with_the_confirmation_number_or_uuid_serves_the_same_file(api_client, booking):
    query = urlsplit(invite_path(booking)).query
    for ref in (booking.confirmation_number, str(booking.uuid)):
        response = api_client.get(f"/api/calendar/v1/public/bookings/{ref}/invite.ics?{query}")
        assert response.status_code == 200
        assert str(event_of(response.content)[1]["UID"]).startswith(booking.public_id)


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["book_%00x", "%00", "book_" + "x" * 3000])
def test_an_id_that_cannot_be_one_is_404(api_client, booking, ref):
    """A NUL (which PostgreSQL refuses to compare) or an absurd length: not found, never a 500."""
    query = urlsplit(invite_path(booking)).query
    response = api_client.get(f"/api/calendar/v1/public/bookings/{ref}/invite.ics?{query}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Booking not found"}


# --- a group session: one booking, an invite of their own for each participant -------------------


def join_class(api_client, demo, start, name: str, email: str, phone: str = "") -> dict:
    body = {
        "org_slug": "acme-salon",
        "service_slug": "yoga-class",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=Service.objects.get(slug="yoga-class").duration_minutes)).isoformat(),
        "timezone": NY,
        "contact": {"name": name, "email": email, "phone": phone},
    }
    response = api_client.post(
        "/api/calendar/v1/public/bookings", body, format="json", HTTP_X_KORDLESS_KEY=demo["keys"]["public"]
    )
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.django_db
def test_each_participant_of_a_class_gets_an_invite_naming_them(api_client, demo, settings):
    settings.SITE_URL = "https://book.example.com"
    start = local_dt(NY, future_day(weekday=2), 10).astimezone(UTC)
    jane = join_class(api_client, demo, start, "Jane Doe", "jane@example.com", "+1234567890")
    john = join_class(api_client, demo, start, "John Smith", "john@example.com")
    assert jane["booking"]["id"] == john["booking"]["id"]  # one session
    assert jane["calendar_invite"]["ics_url"] != john["calendar_invite"]["ics_url"]

    people = {"jane@example.com": ("Jane Doe", "+1234567890"), "john@example.com": ("John Smith", "")}
    for answer, email in ((jane, "jane@example.com"), (john, "john@example.com")):
        response = api_client.get(answer["calendar_invite"]["ics_url"])
        assert response.status_code == 200
        _, event = event_of(response.content)
        assert str(event["ATTENDEE"]) == f"mailto:{email}"
        assert f"&contact={email.replace('@', '%40')}" in str(event["DESCRIPTION"])
        # Nothing of the other participant: their email (as typed or in a link), name or phone. Read
        # unfolded, so that a fold cannot hide one; names and emails, not "john": a random booking
        # id or signature may spell that.
        text = response.content.decode().replace("\r\n ", "").lower()
        [(other_email, (other_name, other_phone))] = [item for item in people.items() if item[0] != email]
        for trace in (other_email, other_email.replace("@", "%40"), other_name.lower(), other_phone):
            assert not trace or trace not in text


@pytest.mark.django_db
def test_participant_link_is_bound_to_its_participant(api_client, demo):
    start = local_dt(NY, future_day(weekday=2), 10).astimezone(UTC)
    jane = join_class(api_client, demo, start, "Jane Doe", "jane@example.com")
    john = join_class(api_client, demo, start, "John Smith", "john@example.com")
    jane_query = parse_qs(urlsplit(jane["calendar_invite"]["ics_url"]).query)
    john_query = parse_qs(urlsplit(john["calendar_invite"]["ics_url"]).query)
    path = urlsplit(john["calendar_invite"]["ics_url"]).path
    forged = [
        {"token": jane_query["token"][0], "participant": john_query["participant"][0]},  # Jane's token, John's place
        {"token": john_query["token"][0]},  # John's token, as if for the session's contact
        {"token": john_query["token"][0], "participant": "not-a-uuid"},
        {"token": john_query["token"][0], "participant": "00000000-0000-0000-0000-000000000000"},
    ]
    for query in forged:
        response = api_client.get(path, query)
        assert response.status_code == 404, query
        assert response.json() == {"detail": "Booking not found"}


@pytest.mark.django_db
def test_a_participant_who_left_gets_a_cancelled_invite(api_client, demo):
    start = local_dt(NY, future_day(weekday=2), 10).astimezone(UTC)
    join_class(api_client, demo, start, "Jane Doe", "jane@example.com")
    john = join_class(api_client, demo, start, "John Smith", "john@example.com")
    participant = Participant.objects.get(customer__email="john@example.com", status="active")
    participant_leave(participant=participant, actor=SYSTEM)
    calendar, event = event_of(api_client.get(john["calendar_invite"]["ics_url"]).content)
    assert (calendar["METHOD"], str(event["STATUS"]), str(event["ATTENDEE"])) == (
        "CANCEL",
        "CANCELLED",
        "mailto:john@example.com",
    )


def _object_model_ics(booking) -> bytes:
    """The invite as icalendar's object model writes it (what booking_ics wrote before it wrote lines)."""
    from django.conf import settings
    from icalendar import Event, vCalAddress
    from icalendar.enums import STATUS

    from bookings.ics import ICS_STATUS, PRODID, booking_uid, manage_url
    from bookings.models import BookingStatus

    organizer = vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL}")
    organizer.params["CN"] = booking.organization.name
    attendee = vCalAddress(f"mailto:{booking.contact_email}")
    attendee.params["CN"] = booking.contact_name or booking.contact_email
    attendee.params["ROLE"] = "REQ-PARTICIPANT"
    attendee.params["PARTSTAT"] = "ACCEPTED"
    cancelled = booking.status == BookingStatus.CANCELLED
    event = Event.new(
        uid=booking_uid(booking),
        stamp=datetime.now(UTC),
        start=booking.starts_at.astimezone(UTC),
        end=booking.ends_at.astimezone(UTC),
        summary=f"{booking.service.name} at {booking.organization.name}",
        location=booking.location.value or booking.location.name,
        description=f"Confirmation number: {booking.confirmation_number}\n"
        f"Manage your booking: {manage_url(booking, booking.contact_email)}",
        organizer=organizer,
        attendees=[attendee],
        status=STATUS.CANCELLED if cancelled else ICS_STATUS.get(booking.status, STATUS.CONFIRMED),
        sequence=booking.sequence,
    )
    return Calendar.new(prodid=PRODID, method="CANCEL" if cancelled else "REQUEST", subcomponents=[event]).to_ical()


def _lines(ics: bytes) -> list[bytes]:
    """The content lines, but the two that differ on every call (the time stamp, the calendar's uid)."""
    unfolded = ics.replace(b"\r\n ", b"")
    return [line for line in unfolded.split(b"\r\n") if not line.startswith((b"DTSTAMP:", b"UID:")) or b"@" in line]


@pytest.mark.django_db
@pytest.mark.parametrize("cancel", [False, True])
def test_the_invite_is_what_icalendar_would_write_and_parses_back_the_same(booking, cancel):
    """Names with commas, semicolons, quotes, carets, backslashes, line breaks and accents, and lines
    long enough to fold: the same lines as icalendar's object model writes, parsed back alike."""
    organization, location, service = booking.organization, booking.location, booking.service
    organization.name = 'Café "Chez Zoë"; cuts, colour \\ more ^ and' + " x" * 30
    location.value = "1 Rue de la Paix, Étage 2;\nBack door, ring twice"
    service.name = "Coupe & couleur: " + "très longue " * 8
    booking.contact_name = 'Jane "JJ" Doe, Jr.; ^ né'
    if cancel:
        booking.status = BookingStatus.CANCELLED
    ours, theirs = booking_ics(booking), _object_model_ics(booking)
    assert _lines(ours) == _lines(theirs)
    assert max(len(line) for line in ours.split(b"\r\n")) <= 75
    ours_calendar, ours_event = event_of(ours)
    theirs_calendar, theirs_event = event_of(theirs)
    assert ours_calendar["METHOD"] == theirs_calendar["METHOD"] == ("CANCEL" if cancel else "REQUEST")
    for name in ("UID", "SUMMARY", "LOCATION", "DESCRIPTION", "STATUS", "SEQUENCE", "DTSTART", "DTEND"):
        assert ours_event.decoded(name) == theirs_event.decoded(name), name
    for name in ("ORGANIZER", "ATTENDEE"):
        assert str(ours_event[name]) == str(theirs_event[name])
        assert dict(ours_event[name].params) == dict(theirs_event[name].params)
    assert ours_event["ATTENDEE"].params["CN"] == 'Jane "JJ" Doe, Jr.; ^ né'
    assert str(ours_event["LOCATION"]) == "1 Rue de la Paix, Étage 2;\nBack door, ring twice"


@given(st.text(alphabet=st.sampled_from('ab ,;:\\^"é€😀'), max_size=400))
@hyp_settings(max_examples=400, deadline=None)
def test_a_line_is_folded_exactly_as_icalendar_folds_it(line):
    assert _fold(line) == _icalendar_folded(line)


def _icalendar_folded(line: str) -> str:
    return Contentline(line).to_ical().decode()


@pytest.mark.parametrize("size", [0, 1, 73, 74, 75, 148, 149, 300])
@pytest.mark.parametrize("filler", ["a", "\\", "^", "a\\"])
def test_ascii_lines_of_every_length_around_the_fold_are_folded_as_icalendar_folds_them(size, filler):
    line = (filler * size)[:size]
    assert _fold(line) == _icalendar_folded(line)
    assert all(len(part.encode()) <= 75 for part in _fold(line).split("\r\n"))
