"""Every change the admin makes to a booking goes through the services: the status, `cancelled_at`,
an audit row naming the admin user, an outbox row (webhook event) and the customer's email.

A conflict or a rule is a form error or a message, never a 500 and never a double booking (these
tests run on SQLite and, with DATABASE_URL, on PostgreSQL).
"""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from bookings.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingEvent,
    BookingStatus,
    OutboundEmail,
    Participant,
    WebhookEvent,
)
from bookings.services.actors import SYSTEM
from bookings.services.bookings import booking_create
from organizations.models import Customer
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def outbox(booking, kind: str) -> list[OutboundEmail]:
    """The customer emails the change wrote to the outbox, in its transaction."""
    return list(OutboundEmail.objects.filter(booking=booking, kind=kind))


def change_url(booking) -> str:
    return reverse("admin:bookings_booking_change", args=[booking.pk])


def audit(booking, action: str) -> BookingEvent:
    return BookingEvent.objects.filter(booking=booking, action=action).latest("id")


def assert_audited(booking, action: str, user, *, to=None) -> None:
    event = audit(booking, action)
    assert event.actor == f"user:{user.username}" and event.actor_user == user
    if to is not None:
        assert event.to_value == to


@pytest.fixture
def desk(client, bravo):
    """Bravo's front desk: a staff member (role staff), who may change bookings."""
    client.force_login(bravo.staff_user)
    return client


def test_create_books_through_the_services_and_emails_the_customer(
    desk, bravo, mailoutbox, django_capture_on_commit_callbacks
):
    form = {
        "service": bravo.haircut.pk,
        "location": "",
        "staff": "",  # any free staff member
        "date": str(bravo.day),
        "time": "11:00",  # typed: local time (America/New_York)
        "customer": "",
        "first_name": "Nora",
        "last_name": "New",
        "email": "Nora@Example.com",
        "phone": "+15550002",
        "party_size": "1",
        "notes": "Prefers the window seat",
        "_book": "Book",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(reverse("admin:bookings_booking_add"), form)
    assert response.status_code == 302
    booking = Booking.objects.get(contact_email="nora@example.com")
    assert response.url == change_url(booking)
    assert booking.starts_at == bravo.at(11) and booking.staff in (bravo.alex, bravo.sam)
    assert booking.status == "confirmed" and booking.source == "admin" and booking.notes == "Prefers the window seat"
    assert Customer.objects.get(email="nora@example.com").organization == bravo.organization
    assert_audited(booking, "created", bravo.staff_user, to="confirmed")
    assert WebhookEvent.objects.filter(type="booking.created", data__id=booking.public_id).exists()
    assert [m.to for m in mailoutbox] == [["nora@example.com"]]
    assert booking.confirmation_number in mailoutbox[0].subject


def test_create_for_an_existing_customer_with_a_free_time_picked(desk, bravo):
    page = desk.get(reverse("admin:bookings_booking_add") + f"?service={bravo.haircut.pk}&date={bravo.day}")
    assert 'value="11:00"' in page.content.decode()  # the engine's free times, in local time
    assert 'value="10:00"' in page.content.decode()  # Sam is free at 10:00 (Alex is booked)
    response = desk.post(
        reverse("admin:bookings_booking_add"),
        {
            "service": bravo.haircut.pk,
            "staff": bravo.alex.pk,
            "date": str(bravo.day),
            "slot": "14:00",
            "customer": bravo.customer.pk,
            "party_size": "1",
            "_book": "Book",
        },
    )
    assert response.status_code == 302
    booking = Booking.objects.get(starts_at=bravo.at(14))
    assert booking.customer == bravo.customer and booking.staff == bravo.alex


def test_create_refuses_a_taken_or_closed_time_with_a_form_error(desk, bravo):
    base = {
        "service": bravo.haircut.pk,
        "staff": bravo.alex.pk,
        "date": str(bravo.day),
        "customer": bravo.customer.pk,
        "party_size": "1",
        "_book": "Book",
    }
    taken = desk.post(reverse("admin:bookings_booking_add"), {**base, "time": "10:00"})  # Alex's booking
    assert taken.status_code == 200 and "no longer available" in taken.content.decode()
    closed = desk.post(reverse("admin:bookings_booking_add"), {**base, "time": "20:00"})
    assert closed.status_code == 200 and "outside service hours" in closed.content.decode()
    missing = desk.post(reverse("admin:bookings_booking_add"), {**base, "customer": ""})
    assert missing.status_code == 200 and "Choose an existing customer" in missing.content.decode()
    assert Booking.objects.filter(organization=bravo.organization, service=bravo.haircut).count() == 1


def test_reschedule_onto_a_taken_slot_is_a_form_error_and_leaves_one_booking(desk, bravo):
    other = booking_create(
        service=bravo.haircut,
        location=bravo.location,
        starts_at=bravo.at(15),
        customer=make_customer(bravo.organization),
        actor=SYSTEM,
        staff=bravo.alex,
    )
    response = desk.post(
        reverse("admin:bookings_booking_reschedule", args=[other.pk]),
        {"date": str(bravo.day), "time": "10:00", "staff": "", "_move": "1"},  # Alex's 10:00 is taken
    )
    assert response.status_code == 200
    assert "no longer available" in response.content.decode()
    at_ten = Booking.objects.filter(staff=bravo.alex, starts_at=bravo.at(10), status__in=ACTIVE_STATUSES)
    assert at_ten.count() == 1 and at_ten.get() == bravo.booking
    other.refresh_from_db()
    assert other.starts_at == bravo.at(15) and other.sequence == 0
    assert not BookingEvent.objects.filter(booking=other, action="rescheduled").exists()


def test_reschedule_moves_the_booking_through_the_service(desk, bravo, mailoutbox, django_capture_on_commit_callbacks):
    page = desk.get(reverse("admin:bookings_booking_reschedule", args=[bravo.booking.pk]))
    assert page.status_code == 200 and "America/New_York" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(
            reverse("admin:bookings_booking_reschedule", args=[bravo.booking.pk]),
            {"date": str(bravo.day + timedelta(days=1)), "time": "14:00", "staff": bravo.sam.pk, "_move": "1"},
        )
    assert response.status_code == 302
    booking = Booking.objects.get(pk=bravo.booking.pk)
    assert booking.starts_at == bravo.at(14, day=bravo.day + timedelta(days=1))
    assert booking.staff == bravo.sam and booking.sequence == 1
    assert_audited(booking, "rescheduled", bravo.staff_user)
    assert WebhookEvent.objects.filter(type="booking.rescheduled", data__id=booking.public_id).exists()


def test_reschedule_emails_the_customer(desk, bravo, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        desk.post(
            reverse("admin:bookings_booking_reschedule", args=[bravo.booking.pk]),
            {"date": str(bravo.day), "time": "11:00", "_move": "1"},
        )
    [row] = outbox(bravo.booking, "reschedule")
    assert row.status == "sent"
    assert [m.to for m in mailoutbox] == [[bravo.customer.email]]
    assert "11:00" in mailoutbox[0].body and "10:00" in mailoutbox[0].body  # the new time and the old


def test_cancel_with_a_reason_through_the_service(desk, bravo, django_capture_on_commit_callbacks):
    page = desk.get(reverse("admin:bookings_booking_cancel", args=[bravo.booking.pk]))
    assert page.status_code == 200
    without_reason = desk.post(reverse("admin:bookings_booking_cancel", args=[bravo.booking.pk]), {"reason": ""})
    assert without_reason.status_code == 200 and Booking.objects.get(pk=bravo.booking.pk).status == "confirmed"
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(
            reverse("admin:bookings_booking_cancel", args=[bravo.booking.pk]), {"reason": "Stylist is ill"}
        )
    assert response.status_code == 302
    booking = Booking.objects.get(pk=bravo.booking.pk)
    assert booking.status == "cancelled" and booking.cancelled_at is not None
    assert booking.cancellation_reason == "Stylist is ill"
    assert_audited(booking, "status_changed", bravo.staff_user, to="cancelled")
    event = WebhookEvent.objects.get(type="booking.cancelled", data__id=booking.public_id)
    assert event.data["cancellation_reason"] == "Stylist is ill"
    # The time is free again: the engine offers it.
    page = desk.get(
        reverse("admin:bookings_booking_add") + f"?service={bravo.haircut.pk}&staff={bravo.alex.pk}&date={bravo.day}"
    )
    assert 'value="10:00"' in page.content.decode()


def test_cancel_emails_the_customer(desk, bravo, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        desk.post(reverse("admin:bookings_booking_cancel", args=[bravo.booking.pk]), {"reason": "Stylist is ill"})
    [row] = outbox(bravo.booking, "cancellation")
    assert row.status == "sent"
    assert [m.to for m in mailoutbox] == [[bravo.customer.email]]
    assert "cancel" in mailoutbox[0].subject.lower()


def test_confirm_complete_and_no_show_go_through_the_state_machine(desk, bravo):
    pending = booking_create(
        service=bravo.haircut,
        location=bravo.location,
        starts_at=bravo.at(12),
        customer=make_customer(bravo.organization),
        actor=SYSTEM,
        staff=bravo.sam,
        status=BookingStatus.PENDING,
    )
    page = desk.get(change_url(pending)).content.decode()
    assert ">Confirm<" in page and ">Complete<" not in page  # only what the state machine allows
    assert desk.post(reverse("admin:bookings_booking_status", args=[pending.pk, "confirmed"])).status_code == 302
    pending.refresh_from_db()
    assert pending.status == "confirmed"
    assert_audited(pending, "status_changed", bravo.staff_user, to="confirmed")
    assert WebhookEvent.objects.filter(type="booking.confirmed", data__id=pending.public_id).exists()

    desk.post(reverse("admin:bookings_booking_status", args=[pending.pk, "completed"]))
    pending.refresh_from_db()
    assert pending.status == "completed"
    assert WebhookEvent.objects.filter(type="booking.completed", data__id=pending.public_id).exists()

    desk.post(reverse("admin:bookings_booking_status", args=[bravo.booking.pk, "no_show"]))
    booking = Booking.objects.get(pk=bravo.booking.pk)
    assert booking.status == "no_show"
    assert_audited(booking, "status_changed", bravo.staff_user, to="no_show")
    assert WebhookEvent.objects.filter(type="booking.no_show", data__id=booking.public_id).exists()

    # A forbidden change is a message, not a 500: a no-show cannot be completed.
    response = desk.post(reverse("admin:bookings_booking_status", args=[booking.pk, "completed"]), follow=True)
    assert response.status_code == 200 and "cannot become completed" in response.content.decode()
    assert Booking.objects.get(pk=booking.pk).status == "no_show"
    assert desk.get(reverse("admin:bookings_booking_status", args=[booking.pk, "completed"])).status_code == 405
    assert desk.post(reverse("admin:bookings_booking_status", args=[booking.pk, "cancelled"])).status_code == 403


def test_resend_confirmation_emails_the_customer_again(desk, bravo, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(reverse("admin:bookings_booking_resend", args=[bravo.booking.pk]), follow=True)
    assert f"Confirmation sent again to {bravo.customer.email}" in response.content.decode()
    assert [m.to for m in mailoutbox] == [[bravo.customer.email]]
    assert bravo.booking.confirmation_number in mailoutbox[0].subject
    assert_audited(bravo.booking, "confirmation_resent", bravo.staff_user, to=bravo.customer.email)
    # A class: each participant their own.
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        desk.post(reverse("admin:bookings_booking_resend", args=[bravo.session.pk]))
    assert [m.to for m in mailoutbox] == [[bravo.customer.email]]
    # Nothing to confirm on a cancelled booking: a message.
    Booking.objects.filter(pk=bravo.booking.pk).update(status="cancelled")
    response = desk.post(reverse("admin:bookings_booking_resend", args=[bravo.booking.pk]), follow=True)
    assert "has no confirmation to send" in response.content.decode()


def test_the_change_page_edits_only_the_notes_and_audits_them(desk, bravo):
    page = desk.get(change_url(bravo.booking)).content.decode()
    for internal in ("blocked_start", "payment_status", "deposit_minor", "payment_redirect_url", "source"):
        assert f'name="{internal}"' not in page
    assert 'name="notes"' in page
    response = desk.post(
        change_url(bravo.booking),
        {"notes": "Allergic to lavender", "status": "cancelled", "starts_at": "2030-01-01 10:00", "_save": "Save"},
    )
    assert response.status_code == 302
    booking = Booking.objects.get(pk=bravo.booking.pk)
    assert booking.notes == "Allergic to lavender"
    assert booking.status == "confirmed" and booking.starts_at == bravo.at(10)  # not fields of this form
    assert_audited(booking, "notes_changed", bravo.staff_user, to="Allergic to lavender")


def test_bookings_cannot_be_deleted(desk, bravo, superuser, client):
    assert desk.get(reverse("admin:bookings_booking_delete", args=[bravo.booking.pk])).status_code == 403
    response = desk.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [bravo.booking.pk], "post": "yes"},
    )
    assert Booking.objects.filter(pk=bravo.booking.pk).exists()
    assert response.status_code in (200, 302)
    client.force_login(superuser)
    assert client.get(reverse("admin:bookings_booking_delete", args=[bravo.booking.pk])).status_code == 403


def test_bulk_cancel_asks_for_a_reason_then_cancels_each_through_the_service(
    desk, bravo, django_capture_on_commit_callbacks
):
    second = booking_create(
        service=bravo.haircut,
        location=bravo.location,
        starts_at=bravo.at(16),
        customer=make_customer(bravo.organization),
        actor=SYSTEM,
    )
    chosen = {"action": "cancel_with_reason", ACTION_CHECKBOX_NAME: [bravo.booking.pk, second.pk]}
    confirmation = desk.post(reverse("admin:bookings_booking_changelist"), chosen)
    assert confirmation.status_code == 200
    body = confirmation.content.decode()
    assert "Cancel these 2 booking(s)?" in body and bravo.booking.confirmation_number in body
    assert Booking.objects.filter(status="cancelled").count() == 0  # nothing before the confirmation
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(
            reverse("admin:bookings_booking_changelist"), {**chosen, "post": "yes", "reason": "Salon flooded"}
        )
    assert response.status_code == 302
    for booking in Booking.objects.filter(pk__in=[bravo.booking.pk, second.pk]):
        assert booking.status == "cancelled" and booking.cancelled_at and booking.cancellation_reason == "Salon flooded"
        assert_audited(booking, "status_changed", bravo.staff_user, to="cancelled")
        assert WebhookEvent.objects.filter(type="booking.cancelled", data__id=booking.public_id).exists()


def test_bulk_confirm_complete_and_no_show_report_what_they_refused(desk, bravo):
    changelist = reverse("admin:bookings_booking_changelist")
    response = desk.post(
        changelist,
        {"action": "complete_selected", ACTION_CHECKBOX_NAME: [bravo.booking.pk, bravo.session.pk]},
        follow=True,
    )
    assert "2 booking(s) completed" in response.content.decode()
    assert set(
        Booking.objects.filter(pk__in=[bravo.booking.pk, bravo.session.pk]).values_list("status", flat=True)
    ) == {"completed"}
    response = desk.post(
        changelist, {"action": "no_show_selected", ACTION_CHECKBOX_NAME: [bravo.booking.pk]}, follow=True
    )
    assert "could not be marked as no-shows" in response.content.decode()
    assert Booking.objects.get(pk=bravo.booking.pk).status == "completed"
    assert_audited(Booking.objects.get(pk=bravo.booking.pk), "status_changed", bravo.staff_user, to="completed")


def test_a_class_takes_a_participant_through_the_create_page(
    desk, bravo, mailoutbox, django_capture_on_commit_callbacks
):
    page = desk.get(change_url(bravo.session)).content.decode()
    assert "Add a participant" in page and bravo.customer.email in page
    newcomer = make_customer(bravo.organization, email="newcomer@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(
            reverse("admin:bookings_booking_add"),
            {
                "service": bravo.yoga.pk,
                "date": str(bravo.day),
                "time": "15:00",
                "customer": newcomer.pk,
                "party_size": "2",
                "_book": "Book",
            },
        )
    assert response.status_code == 302 and response.url == change_url(bravo.session)
    place = Participant.objects.get(booking=bravo.session, customer=newcomer)
    assert place.party_size == 2
    assert [m.to for m in mailoutbox] == [["newcomer@example.com"]]
