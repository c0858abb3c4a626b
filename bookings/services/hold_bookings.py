"""Bookings made from holds (`POST /api/v1/bookings`): the client becomes a customer, the hold a booking.

Two steps, so that nothing slow runs under a lock: `hold_booking_prepare` checks what can be
checked before the booking's transaction and, for a service with a deposit, opens its Stripe
Checkout Session; `hold_booking_create` then finds or creates the customer and converts the hold
in one transaction. If Stripe cannot be reached (502), nothing is booked and the hold stays.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone as djtz

from bookings.models import Booking, BookingStatus
from bookings.notifications import booking_confirmation_queue
from bookings.payments.checkout import DepositCheckout, deposit_checkout_open, deposit_refusal
from bookings.services.actors import Actor
from bookings.services.bookings import Contact, booker_place, booking_create_from_hold
from bookings.services.custom_fields import CustomFieldValue, custom_field_values_clean
from bookings.services.quorum import group_initial_status
from holds.models import Hold
from organizations.errors import Conflict, NotFound, Unprocessable
from organizations.services import customer_get_or_create


@dataclass(frozen=True)
class Client:
    """Who books a held slot, as the holds contract's `client` names them."""

    first_name: str
    last_name: str
    email: str
    phone: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class PreparedHoldBooking:
    hold: Hold
    client: Client
    actor: Actor
    source: str
    notes: str
    custom_field_values: list[CustomFieldValue]
    checkout: DepositCheckout | None
    timezone: str | None = None


def hold_booking_prepare(
    *,
    hold: Hold,
    client: Client,
    actor: Actor,
    source: str = "",
    notes: str = "",
    custom_field_values: object = None,
    timezone: str | None = None,
) -> PreparedHoldBooking:
    """Check the request against the hold and its service, and open the deposit's Checkout Session.

    Runs outside any transaction (the Stripe call is a network call). An expired or converted
    hold is refused here already, before Stripe is asked; the conversion checks again under lock.
    """
    answers = custom_field_values_clean(hold.service, custom_field_values)
    refusal = deposit_refusal(hold.service)
    if refusal:
        raise Unprocessable(refusal)
    if hold.status == Hold.Status.CONVERTED:
        raise Conflict("Hold has already been converted")
    if hold.status != Hold.Status.ACTIVE or hold.expires_at <= djtz.now():
        raise NotFound("Hold not found or expired")
    checkout = None
    if hold.service.deposit_minor:
        checkout = deposit_checkout_open(
            service=hold.service, location=hold.location, starts_at=hold.starts_at, email=client.email
        )
    return PreparedHoldBooking(
        hold=hold,
        client=client,
        actor=actor,
        source=source,
        notes=notes,
        custom_field_values=answers,
        checkout=checkout,
        timezone=timezone,
    )


def hold_booking_create(*, prepared: PreparedHoldBooking, confirmation_email: bool = True) -> Booking:
    """The client found (by email) or created as a customer of the hold's organization, and the hold
    converted into their booking, in one transaction. A deposit books `pending` until it is paid
    (and is confirmed by email then); otherwise the client's confirmation (of their own place, in a
    class) is queued with the booking and sent once it has committed. A class below its minimum
    opens pending, as through every other surface.

    `confirmation_email=False`: the caller tells the client itself (nothing is queued)."""
    hold, client = prepared.hold, prepared.client
    status: str
    if prepared.checkout is not None:
        status = BookingStatus.PENDING
    else:
        status = group_initial_status(hold.service, hold.party_size)
    with transaction.atomic():
        customer = customer_get_or_create(
            organization=hold.organization,
            email=client.email,
            first_name=client.first_name,
            last_name=client.last_name,
            phone=client.phone,
        )
        booking = booking_create_from_hold(
            hold=hold,
            customer=customer,
            actor=prepared.actor,
            status=status,
            source=prepared.source,
            contact=Contact(name=client.name, email=customer.email, phone=client.phone),
            notes=prepared.notes,
            custom_field_values=prepared.custom_field_values,
            checkout=prepared.checkout,
            timezone=prepared.timezone,
            emails_booker=confirmation_email and prepared.checkout is None,
        )
        if confirmation_email and prepared.checkout is None:
            booking_confirmation_queue(booking, participant=booker_place(booking, customer))
        return booking
