"""The confirmation email: sent after commit, with local times, confirmation number, invite and manage link."""

from datetime import UTC, timedelta
from urllib.parse import quote

import pytest
from django.db import DatabaseError
from icalendar import Calendar
from rest_framework.test import APIClient

from bookings.models import Booking, OutboundEmail
from tests.factories import future_day, local_dt

NY = "America/New_York"
URL = "/api/calendar/v1/public/bookings"


def create(api_client, demo, start, *, idempotency_key: str | None = None, **overrides):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    body = {
        "org_slug": "acme-salon",
        "service_slug": "haircut",
        "starts_at": start.astimezone(UTC).isoformat(),
        "ends_at": (start + timedelta(hours=1)).astimezone(UTC).isoformat(),
        "timezone": NY,
        "contact": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+1234567890"},
        **overrides,
    }
    return api_client.post(URL, body, format="json", HTTP_X_KORDLESS_KEY=demo["keys"]["public"], **headers)


@pytest.mark.django_db
def test_confirmation_email_content_and_attachment(
    api_client, demo, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://book.example.com"
    day = future_day(weekday=2)
    start = local_dt(NY, day, 14, 30)
    with django_capture_on_commit_callbacks(execute=True):
        response = create(api_client, demo, start)
        assert mailoutbox == []  # nothing leaves before the commit
    assert response.status_code == 201
    booking = Booking.objects.get()

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["jane@example.com"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert booking.confirmation_number in message.subject and "Haircut" in message.subject
    body = message.body
    assert "Hello Jane Doe" in body
    assert f"Confirmation #: {booking.confirmation_number}" in body
    assert f"Date: {day:%A, %B} {day.day}, {day:%Y}" in body
    assert f"Time: 2:30 PM - 3:30 PM ({NY})" in body  # local time, not UTC
    assert "Location: 123 Main St, Suite 100" in body
    manage = f"https://book.example.com/manage-booking?confirmation={booking.confirmation_number}&contact=" + quote(
        "jane@example.com", safe=""
    )
    assert manage in body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and booking.confirmation_number in html

    (name, content, attachment_type), *_ = message.attachments
    assert name == "invite.ics"
    assert attachment_type.startswith("text/calendar")
    calendar = Calendar.from_ical(content)
    assert calendar["METHOD"] == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert event.decoded("DTSTART") == booking.starts_at
    assert str(event["ATTENDEE"]) == "mailto:jane@example.com"
    # The invite's manage link is the email's own: the same signed token, opening the manage page.
    [link] = [line for line in body.splitlines() if line.startswith(manage)]
    assert f"Manage your booking: {link}" in str(event["DESCRIPTION"])


@pytest.mark.django_db
def test_failed_booking_sends_no_email(api_client, demo, mailoutbox, django_capture_on_commit_callbacks):
    start = local_dt(NY, future_day(weekday=2), 7)  # before opening
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert create(api_client, demo, start).status_code == 422
    assert callbacks == [] and mailoutbox == []


@pytest.mark.django_db
def test_group_participant_gets_their_own_email(api_client, demo, mailoutbox, django_capture_on_commit_callbacks):
    start = local_dt(NY, future_day(weekday=2), 10)
    with django_capture_on_commit_callbacks(execute=True):
        create(api_client, demo, start, service_slug="yoga-class")
        john = {"name": "John Smith", "email": "john@example.com"}
        create(api_client, demo, start, service_slug="yoga-class", contact=john)
    assert [(m.to, m.subject.split(" - ")[0]) for m in mailoutbox] == [
        (["jane@example.com"], "Booking received"),  # 1 place of the class's minimum of 2
        (["jane@example.com"], "Booking confirmed"),  # John's place completed the minimum
        (["john@example.com"], "Booking confirmed"),
    ]
    assert "Hello John Smith" in mailoutbox[2].body
    assert "contact=john%40example.com" in mailoutbox[2].body


@pytest.mark.django_db
def test_a_class_waiting_for_its_minimum_says_so_and_its_invite_is_tentative(
    api_client, demo, mailoutbox, django_capture_on_commit_callbacks
):
    start = local_dt(NY, future_day(weekday=2), 10)
    with django_capture_on_commit_callbacks(execute=True):
        create(api_client, demo, start, service_slug="yoga-class")
    [received] = mailoutbox
    assert received.subject.startswith("Booking received - Yoga Class")
    assert "goes ahead once 2 places" in received.body and "booking with" not in received.body
    html = received.alternatives[0][0]
    assert "goes ahead once" in html and "booking with" not in html
    invite = Calendar.from_ical(received.attachments[0][1])
    assert invite.walk("VEVENT")[0]["STATUS"] == "TENTATIVE"

    with django_capture_on_commit_callbacks(execute=True):
        create(
            api_client,
            demo,
            start,
            service_slug="yoga-class",
            contact={"name": "John Smith", "email": "john@example.com"},
        )
    notice = mailoutbox[1]
    assert notice.to == ["jane@example.com"] and "Your booking with Acme Salon is confirmed." in notice.body
    assert Calendar.from_ical(notice.attachments[0][1]).walk("VEVENT")[0]["STATUS"] == "CONFIRMED"


@pytest.mark.django_db
def test_mail_server_failure_does_not_fail_the_booking(api_client, demo, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    settings.EMAIL_TIMEOUT = 1
    with django_capture_on_commit_callbacks(execute=True):
        response = create(api_client, demo, local_dt(NY, future_day(weekday=2), 11))
    assert response.status_code == 201
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_the_load_benchmark_email_backend_builds_each_message_as_smtp_would(api_client, demo):
    """tests/bench/email_backend.py stands in for SMTP in `make bench`: it must build every message
    (a bad header fails there as it would on the way to a mail server), not skip the work."""
    from django.core.mail import BadHeaderError

    from bookings.notifications import booking_confirmation_message
    from tests.bench.email_backend import EmailBackend

    response = create(api_client, demo, local_dt(NY, future_day(weekday=2), 11))
    message = booking_confirmation_message(Booking.objects.get(public_id=response.json()["booking"]["id"]))
    assert EmailBackend().send_messages([message]) == 1
    message.to = []
    assert EmailBackend().send_messages([message]) == 0
    message.to, message.subject = ["jane@example.com"], "Booking\nBcc: someone@example.com"
    with pytest.raises(BadHeaderError):
        EmailBackend().send_messages([message])


@pytest.mark.django_db
def test_booking_rolled_back_after_its_row_was_written_sends_no_email(
    api_client, demo, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    """The booking row and its email are queued, then the transaction fails (storing the
    Idempotency-Key answer): the rollback takes the email with it."""
    from bookings.api import idempotency

    def storing_fails(**kwargs):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(idempotency, "idempotency_complete", storing_fails)
    api_client.raise_request_exception = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = create(api_client, demo, local_dt(NY, future_day(weekday=2), 11), idempotency_key="k")
    assert response.status_code == 500
    assert callbacks == [] and mailoutbox == []
    assert not Booking.objects.exists()
    assert not OutboundEmail.objects.exists()  # the outbox row rolled back with its booking


@pytest.mark.django_db
def test_class_participants_each_read_their_own_places_and_invite(
    api_client, demo, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://book.example.com"
    start = local_dt(NY, future_day(weekday=2), 10)
    with django_capture_on_commit_callbacks(execute=True):
        create(api_client, demo, start, service_slug="yoga-class", party_size=2)
        john = {"name": "John Smith", "email": "john@example.com"}
        create(api_client, demo, start, service_slug="yoga-class", contact=john)
    jane_mail, john_mail = mailoutbox[0], mailoutbox[-1]
    assert john_mail.to == ["john@example.com"]
    assert "Party size: 2" in jane_mail.body
    assert "Party size" not in john_mail.body  # his one place, not the class's three
    link = next(line for line in john_mail.body.splitlines() if "/invite.ics?" in line).strip()
    served = Calendar.from_ical(api_client.get(link.removeprefix("https://book.example.com")).content)
    assert str(served.walk("VEVENT")[0]["ATTENDEE"]) == "mailto:john@example.com"
    attached = Calendar.from_ical(john_mail.attachments[0][1])
    assert str(attached.walk("VEVENT")[0]["ATTENDEE"]) == "mailto:john@example.com"


def book_from_hold(demo, start, *, service="haircut", client=None):
    session = APIClient()
    session.credentials(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['session']}")
    held = session.post(
        "/api/v1/bookings/hold",
        {
            "service_id": demo["services"][service]["uuid"],
            "location_id": demo["location"]["uuid"],
            "starts_at": start.isoformat(),
        },
        format="json",
    )
    assert held.status_code == 201, held.json()
    client = client or {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com"}
    response = session.post("/api/v1/bookings", {"hold_id": held.json()["hold_id"], "client": client}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.django_db
def test_a_booking_made_from_a_hold_is_confirmed_by_email(demo, mailoutbox, django_capture_on_commit_callbacks):
    """Widgets and the customer pages book through a hold: the client hears from it as a public booker does."""
    start = local_dt(NY, future_day(weekday=2), 15)
    with django_capture_on_commit_callbacks(execute=True):
        data = book_from_hold(demo, start)
    [message] = mailoutbox
    assert message.to == ["jane@example.com"]
    assert message.subject == f"Booking confirmed - Haircut ({data['confirmation_number']})"
    assert f"Time: 3:00 PM - 4:00 PM ({NY})" in message.body
    assert f"confirmation={data['confirmation_number']}&contact=jane%40example.com" in message.body
    assert Calendar.from_ical(message.attachments[0][1])["METHOD"] == "REQUEST"


@pytest.mark.django_db
def test_a_hold_whose_place_completes_a_class_emails_its_booker_once(
    demo, mailoutbox, django_capture_on_commit_callbacks
):
    start = local_dt(NY, future_day(weekday=2), 10)
    with django_capture_on_commit_callbacks(execute=True):
        book_from_hold(demo, start, service="yoga-class")
        john = {"first_name": "John", "last_name": "Smith", "email": "john@example.com"}
        book_from_hold(demo, start, service="yoga-class", client=john)
    assert [(m.to, m.subject.split(" - ")[0]) for m in mailoutbox] == [
        (["jane@example.com"], "Booking received"),
        (["jane@example.com"], "Booking confirmed"),  # John's place completed the minimum
        (["john@example.com"], "Booking confirmed"),  # his own, once
    ]
