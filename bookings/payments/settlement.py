"""Settling deposits: the Stripe webhook applies Checkout outcomes to their bookings, once each.

`checkout.session.completed` confirms the pending booking (and only then emails the customer),
`checkout.session.expired` cancels it, frees the slot and tells the customer why. Each Stripe event is recorded once
(StripeEvent), so a replayed or concurrent copy changes nothing. A deposit paid for a booking that was
cancelled before the payment arrived (the customer paid on a Checkout page left open) is refunded:
nobody pays for a booking that no longer exists.
"""

import logging
from collections.abc import Callable
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from bookings.models import Booking, BookingStatus, StripeEvent
from bookings.notifications import booking_confirmation_queue
from bookings.payments.refunds import RefundFailed, deposit_refund
from bookings.services.actors import Actor
from bookings.services.audit import audit_record
from bookings.services.deposits import deposit_refunded_record
from bookings.services.status import booking_cancel, booking_transition
from organizations.errors import InvalidInput, Unprocessable

STRIPE_ACTOR = Actor(system="stripe")
# The audit action of a deposit that arrived after its booking was cancelled: what the refund sweep
# (deposits_reconcile) looks for until the refund is recorded.
PAID_AFTER_CANCELLATION = "deposit_paid_after_cancellation"
logger = logging.getLogger(__name__)
# A Stripe event, or an object inside one, as a plain dict (what `to_dict()` gives).
StripeDict = dict[str, Any]


def stripe_event_construct(*, payload: bytes, signature: str | None) -> StripeDict:
    """The verified event as a plain dict, or InvalidInput (400) when the signature does not match."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise Unprocessable("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)")
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", settings.STRIPE_WEBHOOK_SECRET)
    except ValueError as exc:
        raise InvalidInput("Invalid payload") from exc
    except stripe.SignatureVerificationError as exc:
        raise InvalidInput("Invalid Stripe-Signature") from exc
    data: StripeDict = event.to_dict()
    return data


def stripe_webhook_handle(*, payload: bytes, signature: str | None) -> str:
    """Verify and apply one Stripe event; returns what was done. A replayed event does nothing."""
    event = stripe_event_construct(payload=payload, signature=signature)
    with transaction.atomic():
        try:
            with transaction.atomic():
                # A concurrent copy of the event waits here for the first to commit, then fails.
                StripeEvent.objects.create(event_id=event["id"], type=event["type"])
        except IntegrityError:
            return "already processed"
        return _apply(event)  # if this fails, the record rolls back too and Stripe's retry runs it


def _apply(event: StripeDict) -> str:
    handler: Callable[[Booking, StripeDict], str] | None = {
        "checkout.session.completed": checkout_completed,
        "checkout.session.async_payment_succeeded": checkout_completed,
        "checkout.session.expired": checkout_expired,
        "checkout.session.async_payment_failed": checkout_expired,
    }.get(event["type"])
    if handler is None:
        return "ignored"
    session = event["data"]["object"]
    booking = _booking_for_session(session)
    if booking is None:
        return "no booking"
    return handler(booking, session)


def _booking_for_session(session: StripeDict) -> Booking | None:
    metadata = session.get("metadata") or {}
    booking_id = metadata.get("booking_id") or session.get("client_reference_id")
    queryset = Booking.objects.select_for_update()
    booking = queryset.filter(stripe_checkout_session_id=session["id"]).first()
    if booking is None and booking_id:
        booking = queryset.filter(public_id=booking_id).first()
    return booking


def _payment_status_set(booking: Booking, payment_status: str, *, action: str) -> None:
    """Record what Stripe told us about the deposit, audited like every other change."""
    audit_record(
        booking=booking, action=action, actor=STRIPE_ACTOR, from_value=booking.payment_status, to_value=payment_status
    )
    booking.payment_status = payment_status
    booking.save(update_fields=["payment_status", "updated_at"])


def checkout_completed(booking: Booking, session: StripeDict) -> str:
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return "awaiting payment"  # a delayed method; async_payment_succeeded follows
    if booking.payment_status == Booking.PaymentStatus.REFUNDED:
        return "refunded already"  # a late copy of the event must not mark a refunded deposit paid again
    if booking.status == BookingStatus.CANCELLED and booking.payment_status != Booking.PaymentStatus.PAID:
        # Paid on a Checkout page left open after the booking was cancelled: recorded, then refunded
        # once this transaction has committed (a network call, never under a lock).
        _payment_status_set(booking, Booking.PaymentStatus.PAID, action=PAID_AFTER_CANCELLATION)
        booking_id = booking.pk
        transaction.on_commit(lambda: late_deposit_refund(booking_id=booking_id))
        return "paid after cancellation, refund asked"
    if booking.payment_status != Booking.PaymentStatus.PAID:
        _payment_status_set(booking, Booking.PaymentStatus.PAID, action="deposit_paid")
    if booking.status == BookingStatus.PENDING:
        booking = booking_transition(booking=booking, to_status=BookingStatus.CONFIRMED, actor=STRIPE_ACTOR)
        # The customer hears "confirmed" once the deposit is paid, never before: queued with the
        # change, sent once it has committed.
        booking_confirmation_queue(booking)
        return "confirmed"
    return f"paid, booking already {booking.status}"


def checkout_expired(booking: Booking, session: StripeDict) -> str:
    if booking.payment_status == Booking.PaymentStatus.PAID or booking.status != BookingStatus.PENDING:
        return f"nothing to do, booking {booking.status}"
    _payment_status_set(booking, Booking.PaymentStatus.EXPIRED, action="deposit_expired")
    # The customer's email says the slot was released because the deposit was not paid
    # (bookings.notifications.content reads the expired payment status).
    booking_cancel(booking=booking, actor=STRIPE_ACTOR, reason="Deposit not paid: checkout expired")
    return "cancelled"


def late_deposit_refund(*, booking_id: int) -> str:
    """Refund a deposit paid after its booking was cancelled; returns what was done.

    Asked right after the payment is recorded and again by every `reconcile_deposits` run until it
    succeeds; Stripe's idempotency key (derived from the booking) makes a repeated ask one refund.
    """
    booking = Booking.objects.get(pk=booking_id)
    if booking.status != BookingStatus.CANCELLED or booking.payment_status != Booking.PaymentStatus.PAID:
        return "nothing to refund"
    try:
        refund = deposit_refund(booking=booking)
    except RefundFailed:
        logger.warning("Refund of booking %s's late deposit failed; reconcile_deposits retries it", booking.public_id)
        return "late deposit refund failed"
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        if booking.payment_status != Booking.PaymentStatus.PAID:
            return "nothing to refund"
        deposit_refunded_record(booking=booking, refund=refund, actor=STRIPE_ACTOR)
    return "late deposit refunded"
