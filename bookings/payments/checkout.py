"""Deposits through Stripe Checkout: whether a service's deposit can be taken, and its Checkout Session.

A service with a deposit books as `pending` with a Checkout Session; the booking holds its slot
until Stripe reports the session completed (confirm) or expired (cancel, slot freed): see
bookings.payments.settlement. Without STRIPE_SECRET_KEY nothing with a deposit can be booked:
`deposit_refusal` says why, for every surface and the admin.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import stripe
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from stripe.params.checkout import SessionCreateParams

from bookings.models import Booking
from bookings.models.booking import new_public_id
from organizations.errors import DomainError, Unprocessable
from organizations.models import Location, Service

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


# Retries of a call that timed out or could not connect (Stripe's idempotency keys make them safe).
STRIPE_NETWORK_RETRIES = 2
# What the library sleeps between them at most: 0.5 s, then 1 s (stripe's HTTPClient backoff).
STRIPE_RETRY_SLEEP_SECONDS = 1.5


def stripe_call_max_seconds() -> float:
    """The longest one Stripe call may keep a request: every attempt at STRIPE_TIMEOUT_SECONDS, and the
    sleeps between them. What bounds a request's life (bookings.services.idempotency) depends on it."""
    return (STRIPE_NETWORK_RETRIES + 1) * settings.STRIPE_TIMEOUT_SECONDS + STRIPE_RETRY_SLEEP_SECONDS


def stripe_client() -> stripe.StripeClient:
    """A client for the configured key; STRIPE_API_BASE points it at a stand-in (tests, local).

    Each attempt waits at most STRIPE_TIMEOUT_SECONDS (the library's own default is 80 s, three
    times over with its retries: minutes in which a request would hold its Idempotency-Key)."""
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        max_network_retries=STRIPE_NETWORK_RETRIES,
        base_addresses={"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None,  # None: Stripe's
        http_client=stripe.new_default_http_client(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


@dataclass(frozen=True)
class DepositCheckout:
    """The Checkout Session of a booking about to be made, and the ids that booking will have.

    Opened before the booking's transaction, so that no lock is held during the call to Stripe;
    Stripe's metadata and idempotency key name the booking by these ids. If the booking then
    fails (its slot taken meanwhile), the session is never shown to anyone and expires unpaid:
    its webhook finds no booking and changes nothing.
    """

    booking_uuid: uuid.UUID
    booking_public_id: str
    amount_minor: int
    session_id: str
    url: str


def checkout_idempotency_key(booking: Booking | DepositCheckout) -> str:
    """One Checkout Session per booking, however often the call is retried."""
    return _idempotency_key(booking.booking_uuid if isinstance(booking, DepositCheckout) else booking.uuid)


def _idempotency_key(booking_uuid: uuid.UUID) -> str:
    return f"booking-{booking_uuid}-deposit"


def deposit_checkout_open(
    *, service: Service, location: Location, starts_at: datetime, email: str = ""
) -> DepositCheckout:
    """Create the deposit's Checkout Session for a booking of `service` at `starts_at` (a network call:
    never under a lock). Raises Unprocessable when the deposit cannot be taken, PaymentProviderError
    (502) when Stripe cannot be reached or refuses."""
    refusal = deposit_refusal(service)
    if refusal:
        raise Unprocessable(refusal)
    organization = location.organization
    booking_uuid, public_id = uuid.uuid4(), new_public_id()
    amount = service.deposit_minor
    site = settings.SITE_URL
    success_url = f"{site}{reverse('payments:success')}?session_id={{CHECKOUT_SESSION_ID}}"
    cancel_url = f"{site}{reverse('payments:cancelled')}?booking={public_id}"
    metadata = {"booking_id": public_id, "booking_uuid": str(booking_uuid), "organization": organization.slug}
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": organization.currency.lower(),
                    "unit_amount": amount,
                    "product_data": {
                        "name": f"Deposit: {service.name}",
                        "description": f"{starts_at.astimezone(location.tz):%Y-%m-%d %H:%M} at {location.name}",
                    },
                },
            }
        ],
        "client_reference_id": public_id,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int((timezone.now() + CHECKOUT_LIFETIME).timestamp()) + 60,
    }
    if email:
        params["customer_email"] = email
    try:
        session = stripe_client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": _idempotency_key(booking_uuid)}
        )
    except stripe.StripeError as exc:
        raise PaymentProviderError() from exc
    return DepositCheckout(
        booking_uuid=booking_uuid,
        booking_public_id=public_id,
        amount_minor=amount,
        session_id=session["id"],
        url=session["url"] or "",
    )
