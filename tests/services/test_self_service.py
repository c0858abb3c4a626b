"""A customer's own cancel and reschedule: the cut-off, the deposit refund, the own slot, a class place."""

from datetime import datetime, timedelta

import pytest

from bookings.ics import manage_token, manage_token_valid
from bookings.models import Booking, BookingEvent, BookingStatus, Participant, WebhookEvent
from bookings.payments.checkout import deposit_checkout_open
from bookings.services.bookings import Contact
from bookings.services.lookup import LookedUp, booking_open_signed
from bookings.services.self_service import (
    booking_self_cancel,
    booking_self_reschedule,
    change_refusal,
    managed_booking,
    refund_due_minor,
    reschedule_slots,
)
from organizations.errors import Conflict, NotFound, Unprocessable
from tests.factories import make_core_booking, make_customer
from tests.salon import paid_color

pytestmark = pytest.mark.django_db


def managed(booking, email=None):
    email = email or booking.contact_email
    return managed_booking(LookedUp(booking=booking, contact={"name": "", "email": email, "phone": ""}))


def haircut(salon, hour=10, minute=0, **kwargs):
    customer = kwargs.pop("customer", None) or make_customer(salon.org, email="jane@example.com")
    return make_core_booking(
        salon.haircut,
        starts_at=salon.at(hour, minute),
        customer=customer,
        staff=kwargs.pop("staff", salon.alex),
        contact=Contact(name="Jane Doe", email=customer.email, phone="+1 555 123 4567"),
        **kwargs,
    )


def just_before_cutoff(booking) -> datetime:
    return booking.starts_at - timedelta(minutes=booking.organization.cancellation_cutoff_minutes, seconds=1)


def inside_cutoff(booking) -> datetime:
    return booking.starts_at - timedelta(minutes=booking.organization.cancellation_cutoff_minutes - 1)


def test_cancel_before_the_cutoff_cancels_with_the_reason_audit_and_webhook(salon):
    booking = haircut(salon)
    done = booking_self_cancel(managed=managed(booking), reason="Feeling ill", now=just_before_cutoff(booking))
    booking.refresh_from_db()
    assert (booking.status, booking.cancellation_reason) == ("cancelled", "Feeling ill")
    assert done.refund is None
    assert BookingEvent.objects.filter(booking=booking, action="status_changed", actor="system:customer").exists()
    assert WebhookEvent.objects.filter(type="booking.cancelled", data__id=booking.public_id).count() == 1


@pytest.mark.parametrize("action", ["cancel", "reschedule"])
def test_inside_the_cutoff_cancel_and_reschedule_are_refused_with_a_clear_message(salon, action):
    booking = haircut(salon)
    now = inside_cutoff(booking)
    with pytest.raises(Unprocessable) as refused:
        if action == "cancel":
            booking_self_cancel(managed=managed(booking), now=now)
        else:
            booking_self_reschedule(managed=managed(booking), starts_at=salon.at(14), now=now)
    assert "no longer be cancelled or rescheduled online" in refused.value.detail
    assert "2 hours before the start" in refused.value.detail
    assert salon.org.name in refused.value.detail
    booking.refresh_from_db()
    assert (booking.status, booking.starts_at) == ("confirmed", salon.at(10))


def test_a_paid_deposit_is_refunded_through_stripe_before_the_cutoff(salon, stripe_api):
    booking = paid_color(salon, stripe_api)
    view = managed(booking)
    assert refund_due_minor(view, now=just_before_cutoff(booking)) == 2000
    done = booking_self_cancel(managed=view, now=just_before_cutoff(booking))
    (request,) = stripe_api.refund_requests
    session = stripe_api.sessions[booking.stripe_checkout_session_id]
    assert request["params"]["payment_intent"] == session["payment_intent"]
    assert request["params"]["amount"] == "2000"
    assert request["headers"]["Idempotency-Key"] == f"booking-{booking.uuid}-deposit-refund"
    assert (done.refund.amount_minor, done.refund.status) == (2000, "succeeded")
    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("cancelled", "refunded")
    event = BookingEvent.objects.get(booking=booking, action="deposit_refunded")
    assert event.to_value["refund_id"] == done.refund.refund_id


def test_after_the_cutoff_nothing_is_refunded_and_the_deposit_is_kept(salon, stripe_api):
    booking = paid_color(salon, stripe_api)
    view = managed(booking)
    assert refund_due_minor(view, now=inside_cutoff(booking)) == 0
    with pytest.raises(Unprocessable):
        booking_self_cancel(managed=view, now=inside_cutoff(booking))
    assert stripe_api.refund_requests == []
    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("confirmed", "paid")


def test_a_refund_stripe_refuses_cancels_nothing(salon, stripe_api):
    booking = paid_color(salon, stripe_api)
    stripe_api.fail_refunds_with = 500
    with pytest.raises(Exception) as failed:
        booking_self_cancel(managed=managed(booking), now=just_before_cutoff(booking))
    assert getattr(failed.value, "status_code", None) == 502
    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("confirmed", "paid")


def test_an_unpaid_deposit_booking_cancels_without_a_refund(salon, stripe_api):
    checkout = deposit_checkout_open(service=salon.color, location=salon.location, starts_at=salon.at(9))
    booking = make_core_booking(salon.color, starts_at=salon.at(9), status=BookingStatus.PENDING, checkout=checkout)
    done = booking_self_cancel(managed=managed(booking), now=just_before_cutoff(booking))
    assert done.refund is None and stripe_api.refund_requests == []
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"


def test_reschedule_offers_and_takes_a_slot_overlapping_the_booking_itself(salon):
    """A 60-minute 10:00 haircut moves to 10:30: it overlaps its own old slot, which does not count."""
    booking = haircut(salon, 10)
    haircut(salon, 12, customer=make_customer(salon.org), staff=salon.alex)  # Alex is busy 12:00-13:00
    view = managed(booking)
    day_start, day_end = salon.at(0), salon.at(23)
    starts = [slot.starts_at for slot in reschedule_slots(managed=view, start=day_start, end=day_end)]
    assert salon.at(10, 30) in starts
    assert salon.at(10) not in starts  # its own time is no move
    assert salon.at(12) not in starts and salon.at(11, 30) not in starts  # Alex's other booking counts
    moved = booking_self_reschedule(managed=view, starts_at=salon.at(10, 30))
    booking.refresh_from_db()
    assert (booking.starts_at, booking.staff_id, booking.sequence) == (salon.at(10, 30), salon.alex.pk, 1)
    assert moved.booking.pk == booking.pk
    assert WebhookEvent.objects.filter(type="booking.rescheduled", data__id=booking.public_id).count() == 1


def test_reschedule_to_a_taken_slot_is_a_conflict_and_the_booking_stays(salon):
    booking = haircut(salon, 10)
    haircut(salon, 14, customer=make_customer(salon.org), staff=salon.alex)
    with pytest.raises(Conflict):
        booking_self_reschedule(managed=managed(booking), starts_at=salon.at(14))
    booking.refresh_from_db()
    assert (booking.starts_at, booking.sequence) == (salon.at(10), 0)


def test_a_class_participant_cancels_only_their_own_place(salon):
    jane, john = make_customer(salon.org, email="jane@example.com"), make_customer(salon.org, email="john@example.com")
    session = make_core_booking(salon.yoga, starts_at=salon.at(15), customer=jane)
    make_core_booking(salon.yoga, starts_at=salon.at(15), customer=john)
    done = booking_self_cancel(managed=managed(session, "john@example.com"), now=just_before_cutoff(session))
    assert done.managed.status == "cancelled"
    session.refresh_from_db()
    assert session.status == "confirmed" and session.party_size == 1
    places = dict(Participant.objects.filter(booking=session).values_list("customer__email", "status"))
    assert places == {"jane@example.com": "active", "john@example.com": "left"}


def test_a_class_participant_moves_only_their_own_place_to_another_session(salon):
    jane, john = make_customer(salon.org, email="jane@example.com"), make_customer(salon.org, email="john@example.com")
    session = make_core_booking(salon.yoga, starts_at=salon.at(15), customer=jane)
    make_core_booking(salon.yoga, starts_at=salon.at(15), customer=john)
    moved = booking_self_reschedule(managed=managed(session, "john@example.com"), starts_at=salon.at(9))
    assert moved.booking.pk != session.pk and moved.booking.starts_at == salon.at(9)
    assert moved.participant.customer == john and moved.participant.status == "active"
    session.refresh_from_db()
    assert session.party_size == 1
    assert list(session.participants.filter(status="active").values_list("customer__email", flat=True)) == [
        "jane@example.com"
    ]
    # Jane's view of her own (unchanged) class still offers changes; John's old place reads cancelled.
    assert change_refusal(managed(session, "jane@example.com")) is None
    assert managed(session, "john@example.com").status == "cancelled"


def test_a_class_move_into_a_full_session_changes_nothing(salon):
    customers = [make_customer(salon.org) for _ in range(3)]
    for customer in customers:
        make_core_booking(salon.yoga, starts_at=salon.at(9), customer=customer)
    jane = make_customer(salon.org, email="jane@example.com")
    session = make_core_booking(salon.yoga, starts_at=salon.at(15), customer=jane)
    with pytest.raises(Conflict):
        booking_self_reschedule(managed=managed(session), starts_at=salon.at(9))
    assert session.participants.get(customer=jane).status == "active"


def test_manage_token_names_the_booking_and_the_contact_and_expires(salon):
    booking = haircut(salon)
    other = haircut(salon, 14, customer=make_customer(salon.org), staff=salon.sam)
    token = manage_token(booking, "Jane@Example.com")
    assert manage_token_valid(booking, "jane@example.com", token)
    assert not manage_token_valid(booking, "john@example.com", token)
    assert not manage_token_valid(other, "jane@example.com", token)
    assert not manage_token_valid(booking, "jane@example.com", token[:-2] + "xx")
    assert not manage_token_valid(booking, "jane@example.com", "garbage")
    later = booking.ends_at + timedelta(days=31)
    assert not manage_token_valid(booking, "jane@example.com", token, now=later)
    phone_token = manage_token(booking, "+1 (555) 123-4567")
    assert manage_token_valid(booking, "15551234567", phone_token)


def test_a_signed_link_opens_the_booking_without_the_lookup_counters(salon, settings):
    booking = haircut(salon)
    token = manage_token(booking, "jane@example.com")
    found = booking_open_signed(
        confirmation_number=booking.confirmation_number, contact="jane@example.com", token=token
    )
    assert found.booking == booking
    with pytest.raises(NotFound):
        booking_open_signed(confirmation_number=booking.confirmation_number, contact="jane@example.com", token="x.y")
