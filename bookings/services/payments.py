"""Deposits through Stripe Checkout, and the Stripe webhook that settles them.

A service with a deposit books as `pending` with a Checkout Session; the booking holds its slot
until Stripe reports the session completed (confirm) or expired (cancel, slot freed). Without
STRIPE_SECRET_KEY nothing with a deposit can be booked: `deposit_refusal` says why, for every
surface and the admin.
"""

from datetime import timedelta
from functools import partial

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus, StripeEvent
from bookings.notifications import booking_confirmation_send
from bookings.services.actors import Actor
from bookings.services.audit import audit_record
from bookings.services.bookings import booking_create_from_hold
from bookings.services.quorum import group_initial_status
from bookings.services.status import booking_cancel, booking_transition
from holds.models import Hold
from organizations.errors import DomainError, InvalidInput, Unprocessable
from organizations.models import Customer, Service

STRIPE_ACTOR = Actor(system="stripe")
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


def booking_create_from_hold_with_deposit(
    *,
    hold: Hold,
    customer: Customer,
    actor: Actor,
    source: str = "",
    contact: dict | None = None,
    notes: str = "",
    custom_field_values: list | None = None,
) -> Booking:
    """Convert a hold; a service with a deposit books `pending` with a Checkout Session to pay.

    The conversion and the session succeed or fail together: if Stripe cannot be reached the
    hold stays as it was and the client may retry.
    """
    refusal = deposit_refusal(hold.service)
    if refusal:
        raise Unprocessable(refusal)
    options = dict(
        hold=hold,
        customer=customer,
        actor=actor,
        source=source,
        contact=contact,
        notes=notes,
        custom_field_values=custom_field_values,
    )
    if not hold.service.deposit_minor:
        # A class below its minimum opens pending, as through every other surface.
        return booking_create_from_hold(**options, status=group_initial_status(hold.service, hold.party_size))
    with transaction.atomic():
        booking = booking_create_from_hold(**options, status=BookingStatus.PENDING)
        try:
            return checkout_session_create(booking=booking)
        except stripe.StripeError as exc:
            raise PaymentProviderError() from exc


def stripe_event_construct(*, payload: bytes, signature: str | None) -> dict:
    """The verified event as a plain dict, or InvalidInput (400) when the signature does not match."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise Unprocessable("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)")
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", settings.STRIPE_WEBHOOK_SECRET)
    except ValueError as exc:
        raise InvalidInput("Invalid payload") from exc
    except stripe.SignatureVerificationError as exc:
        raise InvalidInput("Invalid Stripe-Signature") from exc
    return event.to_dict()


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


def _apply(event: dict) -> str:
    handler = {
        "checkout.session.completed": _checkout_completed,
        "checkout.session.async_payment_succeeded": _checkout_completed,
        "checkout.session.expired": _checkout_expired,
        "checkout.session.async_payment_failed": _checkout_expired,
    }.get(event["type"])
    if handler is None:
        return "ignored"
    session = event["data"]["object"]
    booking = _booking_for_session(session)
    if booking is None:
        return "no booking"
    return handler(booking, session)


def _booking_for_session(session: dict) -> Booking | None:
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


def _checkout_completed(booking: Booking, session: dict) -> str:
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return "awaiting payment"  # a delayed method; async_payment_succeeded follows
    if booking.payment_status != Booking.PaymentStatus.PAID:
        _payment_status_set(booking, Booking.PaymentStatus.PAID, action="deposit_paid")
    if booking.status == BookingStatus.PENDING:
        booking_transition(booking=booking, to_status=BookingStatus.CONFIRMED, actor=STRIPE_ACTOR)
        # The customer hears "confirmed" once the deposit is paid, never before, and only after commit.
        transaction.on_commit(partial(booking_confirmation_send, booking.pk))
        return "confirmed"
    return f"paid, booking already {booking.status}"


def _checkout_expired(booking: Booking, session: dict) -> str:
    if booking.payment_status == Booking.PaymentStatus.PAID or booking.status != BookingStatus.PENDING:
        return f"nothing to do, booking {booking.status}"
    _payment_status_set(booking, Booking.PaymentStatus.EXPIRED, action="deposit_expired")
    booking_cancel(booking=booking, actor=STRIPE_ACTOR, reason="Deposit not paid: checkout expired")
    return "cancelled"


# Stripe retries a webhook for days, but a lost or misconfigured one would keep a slot forever.
RECONCILE_GRACE = timedelta(minutes=5)


def deposits_reconcile(*, now=None) -> dict[str, int]:
    """Settle pending deposits whose Checkout should be over by now by asking Stripe directly.

    The safety net behind the webhook: the same outcome (confirm or cancel) is applied, once.
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
                outcome = _checkout_completed(booking, session)
            elif session.get("status") == "expired":
                outcome = _checkout_expired(booking, session)
            else:
                outcome = "still open"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
