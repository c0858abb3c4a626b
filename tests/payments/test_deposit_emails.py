"""What the customer of a deposit booking is emailed: nothing until paid, then a confirmation; a
Checkout that expires unpaid says the slot was released because the deposit was not paid."""

from icalendar import Calendar

from bookings.models import Booking
from tests.payments.conftest import WEBHOOK_SECRET
from tests.payments.test_payments import book_with_deposit, post_stripe_event
from tests.stripe_standin import stripe_event, stripe_signature


def send(payload: bytes):
    return post_stripe_event(payload, stripe_signature(payload, WEBHOOK_SECRET))


def test_an_unpaid_deposit_releases_the_booking_and_says_why(
    shop, stripe_standin, mailoutbox, django_capture_on_commit_callbacks
):
    data = book_with_deposit(shop)
    assert mailoutbox == []  # pending: no confirmation before payment
    session = stripe_standin.sessions[Booking.objects.get().stripe_checkout_session_id]
    payload = stripe_event("checkout.session.expired", session, status="expired")
    with django_capture_on_commit_callbacks(execute=True):
        assert send(payload).json()["outcome"] == "cancelled"
    with django_capture_on_commit_callbacks(execute=True):
        send(payload)  # Stripe's retry of the same event: nothing new

    [message] = mailoutbox
    assert message.to == ["jane@example.com"]
    assert message.subject == f"Booking released - Color ({data['confirmation_number']})"
    assert "the deposit was not paid in time, so the slot has been released" in message.body
    assert "You have not been charged" in message.body
    assert "Reason" not in message.body
    assert f"https://shop.example/manage-booking?confirmation={data['confirmation_number']}" in message.body
    assert "deposit was not paid" in message.alternatives[0][0]
    assert Calendar.from_ical(message.attachments[0][1])["METHOD"] == "CANCEL"
