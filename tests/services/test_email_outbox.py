"""The email outbox: never lost, never sent twice, never holding a request for long.

Most of these send through a real SMTP server on loopback (aiosmtpd, tests/smtp_server.py) with
Django's SMTP backend, as production does, and read what arrives.
"""

import threading
from datetime import UTC, timedelta
from email.policy import compat32
from io import StringIO
from types import SimpleNamespace
from unittest.mock import patch

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from icalendar import Calendar
from rest_framework.test import APIClient

from bookings.models import Booking, OutboundEmail
from bookings.notifications import booking_confirmation_queue, content, mime_written, outbox
from bookings.notifications.outbox import (
    HEADERS_AS_IS,
    MAX_ATTEMPTS,
    batch_lease_duration,
    email_message,
    emails_claim,
    emails_deliver,
    lease_duration,
    outbox_send,
)
from tests.factories import (
    future_day,
    local_dt,
    make_core_booking,
    make_customer,
    make_location,
    make_org,
    make_service,
    make_staff,
)
from tests.smtp_server import SmtpServer, free_port

NY, PARIS = "America/New_York", "Europe/Paris"
PUBLIC = "/api/calendar/v1/public/bookings"


def book(demo, start, *, tz=NY, name="Jane Doe") -> dict:
    body = {
        "org_slug": "acme-salon",
        "service_slug": "haircut",
        "starts_at": start.astimezone(UTC).isoformat(),
        "ends_at": (start + timedelta(hours=1)).astimezone(UTC).isoformat(),
        "timezone": tz,
        "contact": {"name": name, "email": "jane@example.com"},
    }
    response = APIClient().post(PUBLIC, body, format="json", HTTP_X_KORDLESS_KEY=demo["keys"]["public"])
    assert response.status_code == 201, response.json()
    return response.json()["booking"]


def merchant(demo) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['business']}")
    return client


@pytest.mark.django_db
def test_an_email_whose_first_send_fails_arrives_once_the_server_is_back_exactly_once(
    demo, settings, django_capture_on_commit_callbacks
):
    port = free_port()  # nothing listens there: the mail server is down
    SmtpServer(port).use(settings)
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(demo, local_dt(NY, future_day(weekday=2), 11))  # the booking does not fail

    row = OutboundEmail.objects.get()
    assert (row.kind, row.status, row.attempt_count, row.to) == ("confirmation", "pending", 1, ["jane@example.com"])
    [first] = row.attempts
    assert (first["by"], first["ok"]) == ("after-commit", False) and "Connection refused" in first["error"]
    assert row.last_error == first["error"]
    assert row.next_attempt_at > timezone.now()  # retried later, not at once
    assert emails_deliver().total == 0  # not due yet

    with SmtpServer(port) as smtp:  # the server is back
        run = emails_deliver(now=row.next_attempt_at)
        assert (run.sent, run.retrying, run.failed) == (1, 0, 0)
        out = StringIO()
        call_command("deliver_emails", stdout=out)  # and again, later: nothing left to send
        assert emails_deliver(now=timezone.now() + timedelta(days=3)).total == 0
    assert out.getvalue().strip() == "Emails: 0 sent, 0 to retry, 0 failed, 0 dropped (no longer true)"

    [message] = smtp.messages
    assert smtp.recipients == [["jane@example.com"]]
    assert message["Subject"] == f"Booking confirmed - Haircut ({booking['confirmation_number']})"
    assert message["Message-ID"] == row.message_id
    row.refresh_from_db()
    assert (row.status, row.attempt_count, row.sent_at is not None) == ("sent", 2, True)
    assert [(a["by"], a["ok"]) for a in row.attempts] == [("after-commit", False), ("worker", True)]


@pytest.mark.django_db
def test_confirmation_reschedule_and_cancellation_through_a_real_smtp_server(
    demo, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://book.example.com"
    start = local_dt(NY, future_day(weekday=2), 14)
    with SmtpServer() as smtp:
        smtp.use(settings)
        with django_capture_on_commit_callbacks(execute=True):
            booking = book(demo, start, tz=PARIS)
        path = f"/api/v1/bookings/{booking['id']}"
        with django_capture_on_commit_callbacks(execute=True):
            moved = merchant(demo).patch(path, {"starts_at": (start + timedelta(hours=2)).isoformat()}, format="json")
            assert moved.status_code == 200, moved.json()
        with django_capture_on_commit_callbacks(execute=True):
            assert merchant(demo).delete(path).status_code == 200
        messages = smtp.messages

    assert [m["Subject"].split(" - ")[0] for m in messages] == [
        "Booking confirmed",
        "Booking rescheduled",
        "Booking cancelled",
    ]
    number = booking["confirmation_number"]
    manage = f"https://book.example.com/manage-booking?confirmation={number}&contact=jane%40example.com"
    for message, method, sequence in zip(messages, ["REQUEST", "REQUEST", "CANCEL"], [0, 1, 1], strict=True):
        assert message["To"] == "jane@example.com" and message["From"] == settings.DEFAULT_FROM_EMAIL
        assert message.get_content_type() == "multipart/mixed"
        [alternative] = [p for p in message.walk() if p.get_content_type() == "multipart/alternative"]
        text, html = alternative.get_payload()
        assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        assert manage in text.get_content() and manage.replace("&", "&amp;") in html.get_content()
        assert f"({PARIS})" in text.get_content() and f"({PARIS})" in html.get_content()
        [invite] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert invite.get_filename() == "invite.ics" and invite.get_param("method") == method
        calendar = Calendar.from_ical(invite.get_content())
        assert calendar["METHOD"] == method
        event = calendar.walk("VEVENT")[0]
        assert event["SEQUENCE"] == sequence and str(event["ATTENDEE"]) == "mailto:jane@example.com"
    assert "moved to" in messages[1].get_body(preferencelist=("plain",)).get_content()
    assert OutboundEmail.objects.filter(status="sent").count() == 3


@pytest.mark.django_db
def test_failures_are_retried_with_growing_delays_every_attempt_recorded_then_given_up(
    demo, settings, django_capture_on_commit_callbacks
):
    SmtpServer(free_port()).use(settings)  # and it never comes back
    with django_capture_on_commit_callbacks(execute=True):
        book(demo, local_dt(NY, future_day(weekday=2), 11))
    row = OutboundEmail.objects.get()
    delays = []
    while row.status == "pending":
        now = row.next_attempt_at
        assert emails_deliver(now=now - timedelta(seconds=1)).total == 0  # not a second early
        emails_deliver(now=now)
        row.refresh_from_db()
        if row.status == "pending":
            delays.append(row.next_attempt_at - now)
    assert row.status == "failed" and row.attempt_count == MAX_ATTEMPTS == len(row.attempts)
    assert all(not attempt["ok"] and attempt["error"] for attempt in row.attempts)
    assert delays == sorted(delays) and len(set(delays)) == len(delays)  # growing
    assert sum(delays, timedelta()) > timedelta(days=1)
    assert emails_deliver(now=timezone.now() + timedelta(days=30)).total == 0  # given up for good


class RecordingBackend(LocmemBackend):
    """The locmem backend, remembering the timeout each connection was opened with."""

    timeouts: list = []

    def __init__(self, *args, timeout=None, **kwargs):
        RecordingBackend.timeouts.append(timeout)
        super().__init__(*args, **kwargs)


@pytest.mark.django_db
def test_the_request_waits_at_most_email_request_timeout_and_the_worker_email_timeout(
    demo, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.services.test_email_outbox.RecordingBackend"
    settings.EMAIL_REQUEST_TIMEOUT, settings.EMAIL_TIMEOUT = 2, 10
    RecordingBackend.timeouts = []
    with django_capture_on_commit_callbacks(execute=True):
        book(demo, local_dt(NY, future_day(weekday=2), 11))
    assert RecordingBackend.timeouts == [2] and len(mail.outbox) == 1

    settings.EMAIL_REQUEST_TIMEOUT = 0  # no try in the request: the worker sends it
    with django_capture_on_commit_callbacks(execute=True):
        book(demo, local_dt(NY, future_day(weekday=2), 13))
    assert len(mail.outbox) == 1 and OutboundEmail.objects.filter(status="pending", attempt_count=0).count() == 1
    assert emails_deliver().sent == 1
    assert RecordingBackend.timeouts == [2, 10] and len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_send_whose_claim_ran_out_cannot_overwrite_the_new_claim(settings):
    settings.EMAIL_REQUEST_TIMEOUT = 0
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location], staff=[make_staff(org)])
    booking = make_core_booking(service, starts_at=local_dt(org.timezone, future_day(), 10))
    with transaction.atomic():
        booking_confirmation_queue(Booking.objects.select_related("organization", "service", "location").get())
    now = timezone.now()
    slow_token, [row_id] = emails_claim(now=now, batch=10)
    later = now + batch_lease_duration(settings.EMAIL_TIMEOUT) + timedelta(seconds=1)
    new_token, ids = emails_claim(now=later, batch=10)
    assert ids == [row_id] and new_token != slow_token  # the lease ran out: claimed again

    outbox_send(list(OutboundEmail.objects.filter(pk=row_id)), token=slow_token, timeout=1, by="worker")
    row = OutboundEmail.objects.get(pk=row_id)
    assert (row.status, row.attempt_count, row.claim_token) == ("pending", 0, new_token)
    assert booking.pk == row.booking_id


def _queue_confirmations(count: int) -> list[int]:
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location], staff=[make_staff(org)], duration_minutes=30)
    day = future_day()
    with transaction.atomic():
        for n in range(count):
            customer = make_customer(org, email=f"guest{n}@example.com")
            start = local_dt(org.timezone, day + timedelta(days=n // 8), 9) + timedelta(minutes=30 * (n % 8))
            booking = make_core_booking(service, starts_at=start, customer=customer)
            booking = Booking.objects.select_related("organization", "service", "location").get(pk=booking.pk)
            booking_confirmation_queue(booking)
    return list(OutboundEmail.objects.values_list("id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_email_exactly_once(settings):
    """Real threads, each with its own database connection (SKIP LOCKED claims on PostgreSQL)."""
    settings.EMAIL_REQUEST_TIMEOUT = 0  # everything left to the workers
    ids = _queue_confirmations(12)
    with SmtpServer(delay=0.02) as smtp:  # slow enough that both workers take batches meanwhile
        smtp.use(settings)
        start = threading.Barrier(2)
        runs, errors = {"a": [], "b": []}, []

        def worker(name):
            try:
                start.wait(timeout=10)
                while True:
                    run = emails_deliver(batch=2)
                    runs[name].append(run.sent)
                    if not run.total:
                        return
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(name,)) for name in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        messages = smtp.messages
    assert errors == []
    assert sum(map(sum, runs.values())) == len(ids) == len(messages)
    if connection.vendor == "postgresql":  # SKIP LOCKED: neither waits for the other's claim
        assert all(sum(sent) for sent in runs.values()), runs
    assert len({m["Message-ID"] for m in messages}) == len(ids)  # none twice
    assert sorted(r[0] for r in smtp.recipients) == sorted(f"guest{n}@example.com" for n in range(12))
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_superusers_see_the_outbox_and_its_attempts_in_the_admin(demo, settings, django_capture_on_commit_callbacks):
    SmtpServer(free_port()).use(settings)
    with django_capture_on_commit_callbacks(execute=True):
        book(demo, local_dt(NY, future_day(weekday=2), 11))
    row = OutboundEmail.objects.get()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = APIClient()
    client.force_login(admin)
    listing = client.get("/admin/bookings/outboundemail/")
    assert listing.status_code == 200 and row.subject in listing.content.decode()
    detail = client.get(f"/admin/bookings/outboundemail/{row.pk}/change/").content.decode()
    assert "Connection refused" in detail and "after-commit" in detail

    client.force_login(get_user_model().objects.get(username=demo["admin"]["username"]))  # a merchant
    assert client.get("/admin/bookings/outboundemail/").status_code == 403


class ClockJumpingBackend(LocmemBackend):
    """Each message it sends takes (on the outbox's clock) as long as a whole send may take."""

    clock = [0.0]

    def send_messages(self, messages):
        ClockJumpingBackend.clock[0] += lease_duration(10).total_seconds() / 2 + 1
        return super().send_messages(messages)


@pytest.mark.django_db
def test_a_worker_starts_no_send_late_in_its_claim_and_puts_the_rest_back(settings, monkeypatch):
    settings.EMAIL_REQUEST_TIMEOUT, settings.EMAIL_TIMEOUT = 0, 10
    settings.EMAIL_BACKEND = "tests.services.test_email_outbox.ClockJumpingBackend"
    ClockJumpingBackend.clock = [0.0]
    monkeypatch.setattr(outbox, "time", SimpleNamespace(monotonic=lambda: ClockJumpingBackend.clock[0]))
    _queue_confirmations(4)

    run = emails_deliver(batch=10)
    assert (run.sent, run.released) == (2, 2)  # the third would start past half the lease
    assert len(mail.outbox) == 2
    rest = OutboundEmail.objects.filter(status="pending")
    assert [(r.attempt_count, r.claim_token, r.attempts) for r in rest] == [(0, "", [])] * 2
    assert all(r.next_attempt_at <= timezone.now() for r in rest)  # due again at once
    assert emails_deliver(batch=10).sent == 2 and len(mail.outbox) == 4


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Jane Doe", "Zoë Ångström-Lindqvist with a long name that needs folding in the To"])
def test_an_emails_bytes_are_what_pythons_compat32_policy_writes(demo, settings, name):
    settings.EMAIL_REQUEST_TIMEOUT = 0  # queued, not sent: the row is read back below
    book(demo, local_dt(NY, future_day(weekday=2), 14), name=name)
    ours, reference = _bytes_and_reference(email_message(OutboundEmail.objects.get()))
    assert ours == reference
    assert b"\r\nSubject: Booking confirmed - Haircut (" in ours


DATE = "Tue, 01 Dec 2026 21:29:46 -0000"


def _bytes_and_reference(message, written_expected: bool | None = None) -> tuple[bytes, bytes]:
    """What the SMTP backend sends of `message` (`message().as_bytes(linesep="\\r\\n")`: written
    directly when it can be), and what Python's compat32 policy writes of its MIME tree (the same
    boundaries; both dated alike)."""
    with (
        patch("django.core.mail.message.formatdate", lambda **kwargs: DATE),
        patch.object(mime_written, "formatdate", lambda **kwargs: DATE),
    ):
        sent = message.message()
        if written_expected is not None:
            assert isinstance(sent, outbox._WrittenMessage) is written_expected
        ours = sent.as_bytes(linesep="\r\n")
        tree = sent.tree() if isinstance(sent, outbox._WrittenMessage) else sent
    tree.policy = compat32
    return ours, tree.as_bytes(linesep="\r\n")


_TEXT = st.text(alphabet=st.sampled_from('ab Z;,=?:"<>@.-_()é\t\r\n\u2028'), max_size=60)


@given(
    subject=st.one_of(_TEXT, st.just("Booking confirmed - Haircut (BOOK_ABCDEFGH)")),
    to=st.one_of(st.just("jane@example.com"), st.builds(lambda n: f"{n} <jane@example.com>", _TEXT)),
    body=st.one_of(_TEXT, st.just("Hello,\n\nSee you.\n"), st.just("x" * 999), st.just("long line " * 120)),
    html=st.one_of(_TEXT, st.just("<p>Hello</p>\n")),
    ics=st.one_of(st.just("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), _TEXT.filter(bool)),
    method=st.sampled_from(["REQUEST", "CANCEL", "re quest"]),
)
@hyp_settings(max_examples=400, deadline=None)
def test_an_email_written_directly_is_byte_for_byte_what_its_mime_tree_writes(subject, to, body, html, ics, method):
    message = outbox._OutboxMessage(
        subject=subject, body=body, from_email="Bookings <bookings@example.com>", to=[to],
        headers={"Message-ID": "<1.2.3@example.com>"},
    )  # fmt: skip
    if html:
        message.attach_alternative(html, "text/html")
    message.attach("invite.ics", ics, f"text/calendar; method={method}")
    try:
        ours, reference = _bytes_and_reference(message)
    except Exception as exc:  # noqa: BLE001 - a header Django refuses (a line break) is refused either way
        with pytest.raises(type(exc)):
            message._tree(("=" * 15 + "0" * 32 + "==",) * 2, (), {})
        return
    assert ours == reference


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["jane@example.com", "zoë@example.com"])  # written directly; through the tree
def test_emails_of_every_kind_are_written_as_their_tree_writes_them(address):
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location], staff=[make_staff(org)])
    start = local_dt(org.timezone, future_day(), 10)
    booking = make_core_booking(service, starts_at=start, customer=make_customer(org, email=address))
    booking = Booking.objects.select_related("organization", "service", "location").get(pk=booking.pk)
    rendered = [
        content.confirmation_rendered(booking),
        content.reschedule_rendered(booking, previous_starts_at=start - timedelta(days=1), previous_ends_at=start),
        content.reminder_rendered(booking),
        content.cancellation_rendered(booking),
    ]
    kinds_written = []
    for email in rendered:
        row = outbox.outbox_row(booking=booking, rendered=email, now=timezone.now())
        written = address.isascii() and len("Subject: " + email.subject) <= 78  # else encoded or folded
        ours, reference = _bytes_and_reference(email_message(row), written_expected=written)
        assert ours == reference, email.kind
        kinds_written += [email.kind] if written else []
    assert kinds_written == (["confirmation", "reschedule", "cancellation"] if address.isascii() else [])


def test_the_usual_confirmation_is_written_directly_and_an_unusual_one_through_its_tree():
    def confirmation(subject="Booking confirmed - Haircut (BOOK_ABCDEFGH)", body="Hello,\n"):
        message = outbox._OutboxMessage(
            subject=subject, body=body, from_email="bookings@example.com", to=["jane@example.com"],
            headers={"Message-ID": "<1.2.3@example.com>"},
        )  # fmt: skip
        message.attach_alternative("<p>Hello,</p>\n", "text/html")
        message.attach("invite.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar; method=REQUEST")
        return message

    for message, written in [
        (confirmation(), True),
        (confirmation(body="Grüße,\n"), True),  # 8bit: as it is
        (confirmation(subject="Réservation confirmée"), False),  # an encoded word
        (confirmation(subject="Booking confirmed - " + "a very long service name " * 3), False),  # folded
        (confirmation(body="x" * 1000), False),  # quoted-printable
    ]:
        ours, reference = _bytes_and_reference(message, written_expected=written)
        assert ours == reference
    sent = confirmation().message()
    assert sent["To"] == "jane@example.com" and sent.get_content_type() == "multipart/mixed"  # the tree, asked


@given(
    st.sampled_from(["Subject", "To", "Content-Type", "Message-ID", "X-" + "n" * 40]),
    st.text(alphabet=st.sampled_from('ab Z;,=?:"<>@.-_()é\t\r\n'), max_size=120),
)
@hyp_settings(max_examples=500, deadline=None)
def test_a_header_is_folded_as_compat32_folds_it(name, value):
    for policy in (HEADERS_AS_IS, HEADERS_AS_IS.clone(linesep="\r\n")):
        reference = compat32.clone(linesep=policy.linesep)
        assert _folded(policy.fold, name, value) == _folded(reference.fold, name, value)
        assert _folded(policy.fold_binary, name, value) == _folded(reference.fold_binary, name, value)


def _folded(fold, name: str, value: str) -> tuple:
    """The folded header, or the error compat32 raises (an embedded header, say)."""
    try:
        return ("folded", fold(name, value))
    except Exception as exc:  # noqa: BLE001 - compared, whatever it is
        return ("refused", type(exc))
