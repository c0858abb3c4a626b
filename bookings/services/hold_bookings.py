"""Bookings made from holds (`POST /api/v1/bookings`), a deposit taken through Stripe Checkout."""

import stripe
from django.db import transaction

from bookings.models import Booking, BookingStatus
from bookings.payments.checkout import PaymentProviderError, checkout_session_create, deposit_refusal
from bookings.services.actors import Actor
from bookings.services.bookings import booking_create_from_hold
from bookings.services.quorum import group_initial_status
from holds.models import Hold
from organizations.errors import Unprocessable
from organizations.models import Customer


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
