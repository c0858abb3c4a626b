"""Deposits through Stripe Checkout: whether a service's deposit can be taken, and its Checkout Session.

A service with a deposit books as `pending` with a Checkout Session; the booking holds its slot
until Stripe reports the session completed (confirm) or expired (cancel, slot freed): see
bookings.payments.settlement. Without STRIPE_SECRET_KEY nothing with a deposit can be booked:
`deposit_refusal` says why, for every surface and the admin.
"""

from datetime import timedelta

import stripe
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from organizations.errors import DomainError, Unprocessable
from organizations.models import Service

# Stripe's shortest Checkout Session lifetime; the pending booking keeps its slot this long.
CHECKOUT_LIFETIME = timedelta(minutes=30)
NO_STRIPE_MESSAGE = "This service requires a deposit, but online payments are not configured (STRIPE_SECRET_KEY)"
GROUP_DEPOSIT_MESSAGE = "Deposits are taken for appointments only; set this group service's deposit to 0"


class PaymentProviderError(DomainError):
    status_code = 502
    default_detail = "The payment provider could not be reached; nothing was booked, try again"


def stripe_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def deposit_refusal(service: Service) -> str | None:
    """Why `service` cannot be booked right now because of its deposit, or None if it can."""
    if service.deposit_minor <= 0:
        return None
    if service.is_group:
        # Payment state lives on the booking, and a group session is one booking for many
        # participants: a per-participant deposit has nowhere to be recorded yet.
        return GROUP_DEPOSIT_MESSAGE
    if not stripe_configured():
        return NO_STRIPE_MESSAGE
    return None


def stripe_client() -> stripe.StripeClient:
    """A client for the configured key; STRIPE_API_BASE points it at a stand-in (tests, local)."""
    options = {}
    if settings.STRIPE_API_BASE:
        options["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, max_network_retries=2, **options)


def checkout_idempotency_key(booking: Booking) -> str:
    """One Checkout Session per booking, however often the call is retried."""
    return f"booking-{booking.uuid}-deposit"


def checkout_session_create(*, booking: Booking) -> Booking:
    """Create the deposit's Checkout Session and keep its id and URL on the (pending) booking."""
    refusal = deposit_refusal(booking.service)
    if refusal:
        raise Unprocessable(refusal)
    amount = booking.service.deposit_minor
    site = settings.SITE_URL
    success_url = f"{site}{reverse('payments:success')}?session_id={{CHECKOUT_SESSION_ID}}"
    cancel_url = f"{site}{reverse('payments:cancelled')}?booking={booking.public_id}"
    metadata = {
        "booking_id": booking.public_id,
        "booking_uuid": str(booking.uuid),
        "organization": booking.organization.slug,
    }
    params = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": booking.organization.currency.lower(),
                    "unit_amount": amount,
                    "product_data": {
                        "name": f"Deposit: {booking.service.name}",
                        "description": f"{booking.starts_at.astimezone(booking.location.tz):%Y-%m-%d %H:%M}"
                        f" at {booking.location.name}",
                    },
                },
            }
        ],
        "client_reference_id": booking.public_id,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int((timezone.now() + CHECKOUT_LIFETIME).timestamp()) + 60,
    }
    if booking.contact_email:
        params["customer_email"] = booking.contact_email
    session = stripe_client().v1.checkout.sessions.create(
        params=params, options={"idempotency_key": checkout_idempotency_key(booking)}
    )
    booking.deposit_minor = amount
    booking.payment_status = Booking.PaymentStatus.REQUIRED
    booking.stripe_checkout_session_id = session["id"]
    booking.payment_redirect_url = session["url"] or ""
    booking.save(
        update_fields=[
            "deposit_minor",
            "payment_status",
            "stripe_checkout_session_id",
            "payment_redirect_url",
            "updated_at",
        ]
    )
    return booking
