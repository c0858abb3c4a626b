"""Refunding a paid deposit through Stripe Refunds, when a customer cancels before the cut-off.

Network calls, so never under a writer lock or inside a transaction: the self-service cancel
(bookings.services.self_service) asks for the refund first and cancels only once Stripe has
agreed. The idempotency key is derived from the booking, so a retried or doubled cancel asks
Stripe once and gets the same refund back.
"""

from dataclasses import dataclass

import stripe

from bookings.models import Booking
from bookings.payments.checkout import PaymentProviderError, stripe_client


class RefundFailed(PaymentProviderError):
    default_detail = "Your deposit could not be refunded right now; nothing was cancelled, try again in a moment"


@dataclass(frozen=True)
class DepositRefund:
    refund_id: str
    amount_minor: int
    status: str  # Stripe's: succeeded, pending (card refunds settle later), ...


def refund_idempotency_key(booking: Booking) -> str:
    return f"booking-{booking.uuid}-deposit-refund"


def deposit_refund(*, booking: Booking) -> DepositRefund:
    """Refund the booking's paid deposit in full. Raises RefundFailed (502) when Stripe cannot be
    reached or refuses; nothing is changed here, the caller records the refund."""
    if not booking.stripe_checkout_session_id or not booking.deposit_minor:
        raise RefundFailed("This booking has no deposit paid online to refund")
    client = stripe_client()
    try:
        session = client.v1.checkout.sessions.retrieve(booking.stripe_checkout_session_id)
        payment_intent = session["payment_intent"]
        if not payment_intent:
            raise RefundFailed("Stripe has no payment for this deposit to refund")
        if not isinstance(payment_intent, str):
            payment_intent = payment_intent["id"]
        refund = client.v1.refunds.create(
            params={
                "payment_intent": payment_intent,
                "amount": booking.deposit_minor,
                "reason": "requested_by_customer",
                "metadata": {"booking_id": booking.public_id, "booking_uuid": str(booking.uuid)},
            },
            options={"idempotency_key": refund_idempotency_key(booking)},
        )
    except stripe.StripeError as exc:
        raise RefundFailed() from exc
    if refund["status"] in ("failed", "canceled"):
        raise RefundFailed()
    return DepositRefund(refund_id=refund["id"], amount_minor=int(refund["amount"]), status=refund["status"])
