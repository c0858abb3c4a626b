"""Reconciliation: the safety net behind the Stripe webhook, asking Stripe about overdue deposits."""

from datetime import datetime, timedelta

import stripe
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from bookings.payments.checkout import CHECKOUT_LIFETIME, stripe_client, stripe_configured
from bookings.payments.settlement import (
    PAID_AFTER_CANCELLATION,
    checkout_completed,
    checkout_expired,
    late_deposit_refund,
)

# Stripe retries a webhook for days, but a lost or misconfigured one would keep a slot forever.
RECONCILE_GRACE = timedelta(minutes=5)


def deposits_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Settle pending deposits whose Checkout should be over by now by asking Stripe directly.

    The safety net behind the webhook: the same outcome (confirm or cancel) is applied, once. Then
    deposits paid after their booking was cancelled whose refund has not gone through are refunded.
    """
    now = now or timezone.now()
    outcomes: dict[str, int] = {}
    if not stripe_configured():
        return outcomes
    overdue = Booking.objects.filter(
        status=BookingStatus.PENDING,
        payment_status=Booking.PaymentStatus.REQUIRED,
        created_at__lt=now - CHECKOUT_LIFETIME - RECONCILE_GRACE,
    ).exclude(stripe_checkout_session_id="")
    client = stripe_client()
    for booking_id, session_id in overdue.values_list("id", "stripe_checkout_session_id"):
        try:
            session = client.v1.checkout.sessions.retrieve(session_id).to_dict()
        except stripe.StripeError:
            outcomes["unreachable"] = outcomes.get("unreachable", 0) + 1
            continue
        with transaction.atomic():
            booking = Booking.objects.select_for_update().get(pk=booking_id)
            if session.get("status") == "complete":
                outcome = checkout_completed(booking, session)
            elif session.get("status") == "expired":
                outcome = checkout_expired(booking, session)
            else:
                outcome = "still open"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    unrefunded = Booking.objects.filter(
        status=BookingStatus.CANCELLED,
        payment_status=Booking.PaymentStatus.PAID,
        events__action=PAID_AFTER_CANCELLATION,
    ).distinct()
    for booking_id in unrefunded.values_list("id", flat=True):
        outcome = late_deposit_refund(booking_id=booking_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
