"""Reschedule and cancellation emails, sent by the services whichever surface calls them.

Each is HTML with a text alternative, in the booking's time zone (the booker's, here Paris, not the
salon's New York), with the manage link and the invite: REQUEST with a higher SEQUENCE when moved,
METHOD:CANCEL when cancelled. In a class each participant reads only their own details.
"""

from datetime import UTC, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from icalendar import Calendar
from rest_framework.test import APIClient

from bookings.models import Booking, OutboundEmail, Participant
from bookings.notifications.outbox import emails_deliver
from bookings.services.actors import SYSTEM
from bookings.services.status import booking_cancel
from tests.factories import future_day, local_dt

NY, PARIS = "America/New_York", "Europe/Paris"
PUBLIC = "/api/calendar/v1/public/bookings"
JANE = {"name": "Jane Doe", "email": "jane@example.com", "phone": "+1234567890"}
JOHN = {"name": "John Smith", "email": "john@example.com"}


def book(demo, start, *, service_slug="haircut", contact=JANE, tz=PARIS, **extra) -> str:
    body = {
        "org_slug": "acme-salon",
        "service_slug": service_slug,
        "starts_at": start.astimezone(UTC).isoformat(),
        "ends_at": (start + timedelta(hours=1)).astimezone(UTC).isoformat(),
        "timezone": tz,
        "contact": contact,
        **extra,
    }
    response = APIClient().post(PUBLIC, body, format="json", HTTP_X_KORDLESS_KEY=demo["keys"]["public"])
    assert response.status_code == 201, response.json()
    return response.json()["booking"]["id"]


def merchant(demo) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['business']}")
    return client


def local(moment, tz=PARIS) -> dict:
    """How the email writes `moment` in `tz`."""
    start = moment.astimezone(ZoneInfo(tz))
    end = start + timedelta(hours=1)
    clock = lambda t: f"{t:%I:%M %p}".lstrip("0")  # noqa: E731
    return {"date": f"{start:%A, %B} {start.day}, {start:%Y}", "time": f"{clock(start)} - {clock(end)}"}


def invite(message) -> Calendar:
    (name, content, mimetype), *_ = message.attachments
    assert name == "invite.ics" and mimetype.startswith("text/calendar")
    return Calendar.from_ical(content)


def manage_link(booking: Booking, contact: str) -> str:
    return f"?confirmation={booking.confirmation_number}&contact={quote(contact, safe='')}"


@pytest.fixture
def start():
    return local_dt(NY, future_day(weekday=2), 14)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["PATCH", "POST reschedule"])
def test_a_moved_booking_emails_its_new_time_its_old_one_and_an_updated_invite(
    demo, start, how, mailoutbox, django_capture_on_commit_callbacks
):
    public_id = book(demo, start)
    mailoutbox.clear()
    later = start + timedelta(days=1, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        if how == "PATCH":
            response = merchant(demo).patch(
                f"/api/v1/bookings/{public_id}", {"starts_at": later.isoformat()}, format="json"
            )
        else:
            response = merchant(demo).post(
                f"/api/v1/bookings/{public_id}/reschedule", {"starts_at": later.isoformat()}, format="json"
            )
    assert response.status_code == 200, response.json()
    booking = Booking.objects.get(public_id=public_id)

    [message] = mailoutbox
    assert message.to == ["jane@example.com"]
    assert message.subject == f"Booking rescheduled - Haircut ({booking.confirmation_number})"
    new, old = local(later), local(start)
    assert f"has been moved to {new['date']}, {new['time']} ({PARIS})" in message.body
    assert f"It was on {old['date']}, {old['time']}." in message.body
    assert f"Time: {new['time']} ({PARIS})" in message.body
    assert manage_link(booking, "jane@example.com") in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and new["time"] in html
    assert manage_link(booking, "jane@example.com").replace("&", "&amp;") in html
    calendar = invite(message)
    assert calendar["METHOD"] == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert event.decoded("DTSTART") == later and event["SEQUENCE"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["DELETE", "POST cancel", "PATCH status"])
def test_a_cancelled_booking_emails_the_customer_a_cancelled_invite(
    demo, start, how, mailoutbox, django_capture_on_commit_callbacks
):
    public_id = book(demo, start)
    mailoutbox.clear()
    path = f"/api/v1/bookings/{public_id}"
    with django_capture_on_commit_callbacks(execute=True):
        if how == "DELETE":
            response = merchant(demo).delete(path)
        elif how == "POST cancel":
            response = merchant(demo).post(f"{path}/cancel", {"reason": "Our stylist is ill"}, format="json")
        else:
            response = merchant(demo).patch(path, {"status": "cancelled"}, format="json")
    assert response.status_code == 200, response.json()
    booking = Booking.objects.get(public_id=public_id)

    [message] = mailoutbox
    assert message.to == ["jane@example.com"]
    assert message.subject == f"Booking cancelled - Haircut ({booking.confirmation_number})"
    when = local(start)
    assert "Your booking with Acme Salon has been cancelled." in message.body
    assert f"Date: {when['date']}" in message.body and f"Time: {when['time']} ({PARIS})" in message.body
    assert manage_link(booking, "jane@example.com") in message.body
    if how == "POST cancel":
        assert "Reason: Our stylist is ill" in message.body
    else:
        assert "Reason" not in message.body  # the platform's own placeholder is not news to anyone
    assert "has been cancelled" in message.alternatives[0][0]
    calendar = invite(message)
    assert calendar["METHOD"] == "CANCEL"
    assert calendar.walk("VEVENT")[0]["STATUS"] == "CANCELLED"

    with django_capture_on_commit_callbacks(execute=True):
        assert merchant(demo).delete(path).status_code == 200  # idempotent: nothing new to say
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_cancelled_class_emails_every_participant_their_own_details_only(
    demo, start, mailoutbox, django_capture_on_commit_callbacks
):
    class_start = start.replace(hour=10)
    public_id = book(demo, class_start, service_slug="yoga-class", party_size=2, tz=NY)
    book(demo, class_start, service_slug="yoga-class", contact=JOHN, tz=NY)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant(demo).post(f"/api/v1/bookings/{public_id}/cancel", {"reason": ""}, format="json")
    assert response.status_code == 200, response.json()

    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert sorted(by_recipient) == ["jane@example.com", "john@example.com"]
    jane, john = by_recipient["jane@example.com"], by_recipient["john@example.com"]
    assert "This class with Acme Salon has been cancelled." in john.body
    assert "Hello John Smith" in john.body and "contact=john%40example.com" in john.body
    assert "Jane" not in john.body and "jane" not in john.alternatives[0][0]
    assert "Party size" not in john.body  # his one place
    assert "Party size: 2" in jane.body and "John" not in jane.body
    for recipient, message in by_recipient.items():
        calendar = invite(message)
        assert calendar["METHOD"] == "CANCEL"
        assert str(calendar.walk("VEVENT")[0]["ATTENDEE"]) == f"mailto:{recipient}"


@pytest.mark.django_db
def test_a_participant_who_leaves_is_the_only_one_emailed(demo, start, mailoutbox, django_capture_on_commit_callbacks):
    class_start = start.replace(hour=11)
    book(demo, class_start, service_slug="yoga-class", tz=NY)
    book(demo, class_start, service_slug="yoga-class", contact=JOHN, tz=NY)
    john = Participant.objects.get(customer__email="john@example.com")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant(demo).post(f"/api/v1/participants/{john.uuid}/leave/")
    assert response.status_code == 200, response.json()

    [message] = mailoutbox
    assert message.to == ["john@example.com"]
    assert message.subject.startswith("Place cancelled - Yoga Class")
    assert "Your place in this class with Acme Salon has been cancelled." in message.body
    assert "Jane" not in message.body
    calendar = invite(message)
    assert calendar["METHOD"] == "CANCEL" and str(calendar.walk("VEVENT")[0]["ATTENDEE"]) == "mailto:john@example.com"
    assert Booking.objects.get().status == "confirmed"  # the class itself goes on


@pytest.mark.django_db
def test_a_booking_already_over_is_cancelled_without_an_email(
    demo, start, mailoutbox, django_capture_on_commit_callbacks
):
    public_id = book(demo, start)
    mailoutbox.clear()
    yesterday = timezone.now() - timedelta(days=1)
    Booking.objects.filter(public_id=public_id).update(
        starts_at=yesterday, ends_at=yesterday + timedelta(hours=1), blocked_start=yesterday,
        blocked_end=yesterday + timedelta(hours=1),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert merchant(demo).delete(f"/api/v1/bookings/{public_id}").status_code == 200
    assert mailoutbox == []
    assert not OutboundEmail.objects.filter(kind="cancellation").exists()


@pytest.mark.django_db
def test_a_cancellation_that_rolls_back_sends_nothing_and_stores_nothing(demo, start, mailoutbox):
    public_id = book(demo, start)
    mailoutbox.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        booking_cancel(booking=Booking.objects.get(public_id=public_id), actor=SYSTEM)
        assert OutboundEmail.objects.filter(kind="cancellation").count() == 1  # written with the change
        raise RuntimeError("the surrounding change failed")
    assert not OutboundEmail.objects.filter(kind="cancellation").exists()
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_confirmation_still_waiting_for_the_mail_server_is_not_sent_after_the_booking_is_cancelled(
    demo, start, settings, mailoutbox, django_capture_on_commit_callbacks
):
    """The retry would contradict the cancellation: the outbox drops it and sends the cancellation."""
    settings.EMAIL_REQUEST_TIMEOUT = 0  # nothing tried in the request: all left to deliver_emails
    public_id = book(demo, start)
    with django_capture_on_commit_callbacks(execute=True):
        merchant(demo).delete(f"/api/v1/bookings/{public_id}")
    assert mailoutbox == []
    run = emails_deliver()
    assert (run.sent, run.dropped) == (1, 1)
    [message] = mail.outbox
    assert message.subject.startswith("Booking cancelled")
    dropped = OutboundEmail.objects.get(kind="confirmation")
    assert (dropped.status, dropped.last_error) == ("dropped", "Not sent: the booking was cancelled")
