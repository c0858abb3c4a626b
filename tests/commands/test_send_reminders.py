"""`manage.py send_reminders`: each booking's reminder once, at the organization's lead time(s).

Time is driven by passing `now` to the pass `send_reminders` runs (queue what is due, then send it).
"""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from icalendar import Calendar
from rest_framework.test import APIClient

from bookings.models import Booking, BookingEvent, OutboundEmail, Participant
from bookings.notifications import reminders
from bookings.notifications.outbox import emails_deliver
from bookings.notifications.reminders import reminders_queue
from bookings.services.actors import SYSTEM
from bookings.services.bookings import booking_reschedule, participant_join, participant_leave
from bookings.services.status import booking_cancel
from organizations.models import Service
from tests.factories import (
    future_day,
    local_dt,
    make_booking,
    make_core_booking,
    make_customer,
    make_key,
    make_location,
    make_org,
    make_service,
    make_staff,
)
from tests.smtp_server import SmtpServer

TZ = "America/New_York"
DAY = timedelta(days=1)


@pytest.fixture
def salon(db):
    org = make_org(timezone=TZ, name="Acme Salon")
    location = make_location(org, value="123 Main St")
    service = make_service(org, locations=[location], staff=[make_staff(org)], name="Haircut")
    return org, location, service


def reminders_at(now) -> list:
    """One pass of send_reminders at `now`: the reminders it sent."""
    before = len(mail.outbox)
    reminders_queue(now=now)
    emails_deliver(now=now, kinds=[OutboundEmail.Kind.REMINDER])
    return mail.outbox[before:]


def booked(service, start, **kwargs) -> Booking:
    customer = kwargs.pop("customer", None) or make_customer(service.organization, first_name="Jane", last_name="Doe")
    return make_core_booking(service, starts_at=start, customer=customer, **kwargs)


def test_a_reminder_is_sent_once_at_the_lead_time(salon):
    org, _location, service = salon
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    booking = booked(service, start)
    due = start - DAY  # the default lead: 24 hours

    assert reminders_at(due - timedelta(minutes=1)) == []
    [message] = reminders_at(due)
    assert reminders_at(due + timedelta(minutes=1)) == []
    assert reminders_at(start - timedelta(minutes=5)) == []  # no second lead time configured

    assert message.to == [booking.contact_email]
    day = start.date()
    assert (
        message.subject
        == f"Reminder - Haircut, {day:%A, %B} {day.day}, {day:%Y} at 10:00 AM ({booking.confirmation_number})"
    )
    assert "A reminder of your booking with Acme Salon" in message.body
    assert f"Time: 10:00 AM - 11:00 AM ({TZ})" in message.body
    assert f"/manage-booking?confirmation={booking.confirmation_number}&contact=" in message.body
    assert "A reminder of your booking" in message.alternatives[0][0]
    assert Calendar.from_ical(message.attachments[0][1])["METHOD"] == "REQUEST"
    row = OutboundEmail.objects.get(kind="reminder")
    assert (row.status, row.reminder_lead_minutes, row.booking_starts_at) == ("sent", 1440, start)


def test_a_second_lead_time_sends_a_second_reminder_once(salon):
    org, _location, service = salon
    org.second_reminder_lead_minutes = 120
    org.save()
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    booked(service, start)
    assert len(reminders_at(start - DAY)) == 1
    assert reminders_at(start - timedelta(hours=3)) == []
    assert len(reminders_at(start - timedelta(hours=2))) == 1
    assert reminders_at(start - timedelta(hours=1)) == []
    assert list(OutboundEmail.objects.values_list("reminder_lead_minutes", flat=True)) == [1440, 120]


def test_when_both_lead_times_are_due_at_once_only_the_shorter_is_sent(salon):
    org, _location, service = salon
    org.second_reminder_lead_minutes = 120
    org.save()
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    booked(service, start)
    assert len(reminders_at(start - timedelta(hours=1))) == 1  # the worker was down for a day
    assert reminders_at(start - timedelta(minutes=30)) == []
    assert list(OutboundEmail.objects.values_list("reminder_lead_minutes", flat=True)) == [120]


def test_no_reminder_for_a_cancelled_booking(salon):
    _org, _location, service = salon
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    booking_cancel(booking=booked(service, start), actor=SYSTEM)
    assert reminders_at(start - DAY) == [] and reminders_at(start - timedelta(hours=1)) == []
    assert not OutboundEmail.objects.filter(kind="reminder").exists()


def test_no_reminder_for_a_booking_made_inside_the_lead_time(salon):
    org, _location, service = salon
    org.second_reminder_lead_minutes = 120
    org.save()
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    booking = booked(service, start)
    Booking.objects.filter(pk=booking.pk).update(created_at=start - timedelta(hours=10))  # booked 10 h before
    assert reminders_at(start - timedelta(hours=9)) == []  # no 24-hour reminder
    assert len(reminders_at(start - timedelta(hours=2))) == 1  # but it was made before the 2-hour mark


def test_a_moved_booking_is_reminded_at_its_new_time(salon):
    _org, _location, service = salon
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    booking = booked(service, start)
    moved_to = start + 2 * DAY + timedelta(hours=4)
    booking_reschedule(booking=booking, starts_at=moved_to, actor=SYSTEM)
    assert reminders_at(start - DAY) == []  # the old time's reminder is not due any more
    [message] = reminders_at(moved_to - DAY)
    assert f"Time: 2:00 PM - 3:00 PM ({TZ})" in message.body


def test_a_booking_moved_after_its_reminder_is_reminded_again_for_the_new_time(salon):
    _org, _location, service = salon
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    booking = booked(service, start)
    assert len(reminders_at(start - DAY)) == 1
    moved_to = start + DAY
    booking_reschedule(booking=booking, starts_at=moved_to, actor=SYSTEM)
    assert reminders_at(start - timedelta(hours=1)) == []
    assert len(reminders_at(moved_to - DAY)) == 1
    assert reminders_at(moved_to - timedelta(hours=1)) == []


def test_no_reminder_for_a_booking_moved_inside_the_lead_time(salon):
    _org, _location, service = salon
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    booking = booked(service, start)
    moved_to = start + timedelta(hours=4)
    booking_reschedule(booking=booking, starts_at=moved_to, actor=SYSTEM)
    BookingEvent.objects.filter(booking=booking, action="rescheduled").update(created_at=moved_to - timedelta(hours=5))
    assert reminders_at(moved_to - timedelta(hours=4)) == []  # the reschedule email has just told them


def test_a_reminder_waiting_to_be_sent_is_dropped_when_its_booking_is_cancelled(salon):
    _org, _location, service = salon
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    booking = booked(service, start)
    assert reminders_queue(now=start - DAY) == 1  # written, not sent yet (the mail server is down, say)
    booking_cancel(booking=booking, actor=SYSTEM)
    run = emails_deliver(now=start - DAY + timedelta(minutes=1), kinds=[OutboundEmail.Kind.REMINDER])
    assert (run.sent, run.dropped) == (0, 1)
    assert OutboundEmail.objects.get(kind="reminder").last_error == "Not sent: the booking was cancelled"
    assert not [m for m in mail.outbox if m.subject.startswith("Reminder")]


def test_each_class_participant_is_reminded_with_their_own_details_except_late_joiners(salon):
    org, location, _service = salon
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, name="Yoga", capacity_max=10)
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    ann, bob, cat, dan = (
        make_customer(org, first_name=n, email=f"{n.lower()}@example.com") for n in ("Ann", "Bob", "Cat", "Dan")
    )
    session = booked(yoga, start, customer=ann)
    participant_join(booking=session, customer=bob, actor=SYSTEM)
    participant_join(booking=session, customer=cat, actor=SYSTEM)
    participant_join(booking=session, customer=dan, actor=SYSTEM)
    participant_leave(participant=Participant.objects.get(customer=cat), actor=SYSTEM)
    Participant.objects.filter(customer=dan).update(created_at=start - timedelta(hours=3))  # joined late

    sent = reminders_at(start - DAY)
    assert sorted(m.to[0] for m in sent) == ["ann@example.com", "bob@example.com"]
    for message in sent:
        other = "Bob" if message.to == ["ann@example.com"] else "Ann"
        assert other not in message.body
        assert f"contact={message.to[0].replace('@', '%40')}" in message.body
        assert (
            str(Calendar.from_ical(message.attachments[0][1]).walk("VEVENT")[0]["ATTENDEE"])
            == f"mailto:{message.to[0]}"
        )
    assert reminders_at(start - timedelta(hours=1)) == []


def test_an_organization_without_reminders_sends_none(salon):
    org, _location, service = salon
    org.reminder_lead_minutes = 0
    org.save()
    start = local_dt(TZ, future_day(days_ahead=3), 10)
    booked(service, start)
    assert reminders_at(start - DAY) == [] and reminders_at(start - timedelta(minutes=10)) == []


def test_the_command_sends_what_is_due_now(salon):
    _org, location, service = salon
    start = timezone.now() + timedelta(hours=20)
    booking = make_booking(
        service, location, start, customer=make_customer(service.organization), contact_email="jo@example.com"
    )
    Booking.objects.filter(pk=booking.pk).update(created_at=start - 3 * DAY)
    out = StringIO()
    call_command("send_reminders", stdout=out)
    assert out.getvalue().strip() == "Reminders: 1 due, 1 sent"
    call_command("send_reminders", stdout=out)
    assert out.getvalue().strip().endswith("Reminders: 0 due, 0 sent")
    assert [m.to for m in mail.outbox] == [["jo@example.com"]]


@pytest.mark.django_db(transaction=True)
def test_two_processes_racing_send_each_reminder_exactly_once(settings, monkeypatch):
    """Two send_reminders at once, each with its own database connection, both finding the same
    reminders due before either writes them: the unique key keeps one row, the claims send it once."""
    org = make_org(timezone=TZ)
    location = make_location(org)
    service = make_service(org, locations=[location], staff=[make_staff(org)])
    starts = [local_dt(TZ, future_day(days_ahead=3), hour) for hour in (9, 11, 13)]
    for start in starts:
        booked(service, start)
    now = starts[-1] - DAY
    both_found = threading.Barrier(2)
    insert = reminders._insert

    def insert_after_both_found(rows):
        both_found.wait(timeout=10)
        insert(rows)

    monkeypatch.setattr(reminders, "_insert", insert_after_both_found)
    with SmtpServer(delay=0.01) as smtp:
        smtp.use(settings)
        found, errors = [], []

        def process():
            try:
                found.append(len(reminders.reminders_due(now=now)))
                reminders_queue(now=now)
                emails_deliver(now=now, kinds=[OutboundEmail.Kind.REMINDER])
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=process) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        messages = smtp.messages
    assert errors == []
    assert found == [3, 3]  # each saw all three due
    assert OutboundEmail.objects.filter(kind="reminder").count() == 3
    assert len(messages) == 3 and len({m["Message-ID"] for m in messages}) == 3
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}


def test_the_lead_times_are_set_through_the_resource_api(salon):
    org, _location, _service = salon
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org)[1]}")
    response = client.patch(
        f"/api/v1/organizations/{org.uuid}/",
        {"reminder_lead_minutes": 2880, "second_reminder_lead_minutes": 120},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["reminder_lead_minutes"], response.json()["second_reminder_lead_minutes"]) == (2880, 120)
    org.refresh_from_db()
    assert reminders.organization_reminder_leads(org) == [120, 2880]
