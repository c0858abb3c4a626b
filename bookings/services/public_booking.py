"""Create a booking through the public API: customer by email, business checks, then the core.

The scheduling core (`booking_create`) owns locking and the re-check; this module adds what the
public contract asks on top: the `ends_at` must match the service, a deposit books `pending` with
a Stripe Checkout Session (bookings.payments.checkout), the customer is found or created by
email in the organization, and the confirmation email leaves only after the booking has
committed (a deposit booking is confirmed, and mailed, once paid).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import stripe
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects

from bookings.availability import find_slots
from bookings.models import Booking, BookingStatus, Participant
from bookings.notifications import booking_confirmation_send
from bookings.payments.checkout import (
    NO_STRIPE_MESSAGE,
    PaymentProviderError,
    checkout_session_create,
    deposit_refusal,
)
from bookings.services.actors import Actor
from bookings.services.bookings import booking_create
from bookings.services.quorum import group_initial_status
from organizations.errors import Unprocessable
from organizations.models import ApiKey, Customer, Location, Organization, Service, StaffMember, Team
from organizations.services import customer_get_or_create

# The public contract's wording for payments' NO_STRIPE_MESSAGE.
DEPOSIT_UNAVAILABLE = "This service requires a deposit and online payment is not configured"
SOURCE = "public_api"


@dataclass(frozen=True)
class PublicBooking:
    """What a public create made: the booking, and in a group session the booker's own place."""

    booking: Booking
    participant: Participant | None = None


def _customer_for(organization: Organization, contact: dict) -> Customer:
    """The organization's customer with this email, created on a first booking."""
    first, _, last = contact["name"].strip().partition(" ")
    return customer_get_or_create(
        organization=organization,
        email=contact["email"],
        first_name=first[:100],
        last_name=last.strip()[:100],
        phone=contact.get("phone") or "",
    )


def _location_for(service: Service, starts_at: datetime, location: Location | None) -> Location:
    """The asked location; else the only one; else the first with this slot free (or the first)."""
    if location is not None:
        return location
    # Read once, with their organization, and kept on the service: the engine's checks below and
    # under the lock use these rows instead of reading them again.
    prefetch_related_objects([service], Prefetch("locations", Location.objects.select_related("organization")))
    locations = list(service.locations.all())
    if not locations:
        raise Unprocessable("This service is not offered at any location")
    if len(locations) == 1:
        return locations[0]
    free = find_slots(service, starts_at, starts_at + timedelta(microseconds=1))
    by_id = {loc.pk: loc for loc in locations}
    return next((by_id[s.location_id] for s in free if s.location_id in by_id), locations[0])


def public_booking_create(
    *,
    api_key: ApiKey,
    service: Service,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    contact: dict,
    party_size: int = 1,
    host: StaffMember | None = None,
    team: Team | None = None,
    location: Location | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> PublicBooking:
    """Book `service` at `starts_at` for the person in `contact` (422 not bookable, 409 taken)."""
    expected = timedelta(minutes=service.duration_minutes)
    if ends_at - starts_at != expected:
        raise Unprocessable(f"ends_at must be starts_at plus the service duration ({service.duration_minutes} minutes)")
    refusal = deposit_refusal(service)
    if refusal:
        raise Unprocessable(DEPOSIT_UNAVAILABLE if refusal == NO_STRIPE_MESSAGE else refusal)
    # A class below its minimum opens pending, as through every other surface (bookings.services.quorum).
    status = BookingStatus.PENDING if service.deposit_minor else group_initial_status(service, party_size)
    location = _location_for(service, starts_at, location)
    participant = None
    with transaction.atomic():
        customer = _customer_for(service.organization, contact)
        booking = booking_create(
            service=service,
            location=location,
            starts_at=starts_at,
            customer=customer,
            actor=Actor(key=api_key),
            staff=host,
            team=team,
            party_size=party_size,
            status=status,
            source=SOURCE,
            timezone=timezone,
            contact={"name": contact["name"].strip(), "email": customer.email, "phone": contact.get("phone") or ""},
            notes=notes,
            customer_note=notes if service.is_group else "",
            now=now,
            emails_booker=not service.deposit_minor,
            savepoint=False,  # any refusal ends this whole transaction
        )
        if service.deposit_minor:
            # Booked and Checkout Session created together: if Stripe fails nothing is booked (502).
            try:
                booking = checkout_session_create(booking=booking)
            except stripe.StripeError as exc:
                raise PaymentProviderError() from exc
        else:
            # A group session's own contact is whoever opened it: the person who just joined gets
            # their own email and invite. The email is built from this instance once committed.
            _relations_attach(booking, service=service, location=location)
            participant = _place_of(booking, customer)
            transaction.on_commit(partial(booking_confirmation_send, booking, participant=participant))
    return PublicBooking(booking=booking, participant=participant)


def _place_of(booking: Booking, customer: Customer) -> Participant | None:
    """The customer's place in a group session (None for an appointment)."""
    if not booking.is_group:
        return None
    participant = Participant.objects.get(booking=booking, customer=customer, status=Participant.Status.ACTIVE)
    participant.customer = customer
    return participant


def _relations_attach(booking: Booking, *, service: Service, location: Location) -> None:
    """Give `booking` the service, location and organization rows already in hand (what the email
    and the answer show), so that neither reads them again."""
    if booking.service_id == service.pk and not Booking.service.is_cached(booking):
        booking.service = service
    if booking.location_id == location.pk and not Booking.location.is_cached(booking):
        booking.location = location
    if booking.organization_id == location.organization_id and not Booking.organization.is_cached(booking):
        booking.organization = location.organization
