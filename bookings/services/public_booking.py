"""Create a booking through the public API: customer by email, business checks, then the core.

The scheduling core (`booking_create`) owns the re-check under the locks; this module takes the
slot's locks itself, with the customer's statement (one round trip on PostgreSQL), and adds what the
public contract asks on top: the `ends_at` must match the service, a deposit books `pending` with
a Stripe Checkout Session (bookings.payments.checkout), the customer is found or created by
email in the organization, and the confirmation email is written to the outbox with the booking
and leaves only after it has committed (a deposit booking is confirmed, and mailed, once paid).

Two steps, so that no network call runs under a lock: `public_booking_prepare` (checks, and the
deposit's Checkout Session) before the booking's transaction, `public_booking_create` in it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NotRequired, TypedDict

from django.db import transaction
from django.db.models import Model

from bookings.availability import find_slots, service_locations_prefetch
from bookings.models import Booking, BookingStatus, Participant
from bookings.notifications import PreparedEmails, booking_confirmation_prepared, booking_confirmation_queue
from bookings.payments.checkout import NO_STRIPE_MESSAGE, DepositCheckout, deposit_checkout_open, deposit_refusal
from bookings.services.actors import Actor
from bookings.services.bookings import Contact, booker_place, booking_create
from bookings.services.quorum import group_initial_status
from bookings.services.reservation import booker_party_size_check, locks_take_riding, slot_locks
from organizations.compiled import RidingSelect
from organizations.errors import Unprocessable
from organizations.models import ApiKey, Customer, Location, Organization, Service, StaffMember, Team
from organizations.services import customer_get_or_create

# The public contract's wording for payments' NO_STRIPE_MESSAGE.
DEPOSIT_UNAVAILABLE = "This service requires a deposit and online payment is not configured"
SOURCE = "public_api"


class PublicContact(TypedDict):
    """The public contract's `contact`: who books (no phone: absent, empty or null)."""

    name: str
    email: str
    phone: NotRequired[str | None]


@dataclass(frozen=True)
class PublicBooking:
    """What a public create made: the booking, and in a group session the booker's own place."""

    booking: Booking
    participant: Participant | None = None


def _customer_for(organization: Organization, contact: PublicContact, riding: RidingSelect | None = None) -> Customer:
    """The organization's customer with this email, created on a first booking."""
    first, _, last = contact["name"].strip().partition(" ")
    return customer_get_or_create(
        organization=organization,
        email=contact["email"],
        first_name=first[:100],
        last_name=last.strip()[:100],
        phone=contact.get("phone") or "",
        riding=riding,
    )


def _location_for(service: Service, starts_at: datetime, location: Location | None) -> Location:
    """The asked location; else the only one; else the first with this slot free (or the first)."""
    if location is not None:
        return location
    # Read once, with their organization, and kept on the service: the engine's checks below and
    # under the lock use these rows instead of reading them again.
    service_locations_prefetch(service)
    locations = list(service.locations.all())
    if not locations:
        raise Unprocessable("This service is not offered at any location")
    if len(locations) == 1:
        return locations[0]
    free = find_slots(service, starts_at, starts_at + timedelta(microseconds=1))
    by_id = {loc.pk: loc for loc in locations}
    return next((by_id[s.location_id] for s in free if s.location_id in by_id), locations[0])


@dataclass(frozen=True)
class PreparedPublicBooking:
    """A public booking checked as far as it can be before its transaction (and its deposit's
    Checkout Session opened), ready for `public_booking_create`."""

    api_key: ApiKey
    service: Service
    location: Location
    starts_at: datetime
    timezone: str
    contact: PublicContact
    party_size: int
    host: StaffMember | None
    team: Team | None
    notes: str
    status: str
    checkout: DepositCheckout | None


def public_booking_prepare(
    *,
    api_key: ApiKey,
    service: Service,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    contact: PublicContact,
    party_size: int = 1,
    host: StaffMember | None = None,
    team: Team | None = None,
    location: Location | None = None,
    notes: str = "",
) -> PreparedPublicBooking:
    """Check what the contract asks beyond the slot (422), choose the location, and for a deposit
    open the Checkout Session: a network call, made before any lock is taken (502 if Stripe fails:
    nothing is booked)."""
    booker_party_size_check(service=service, party_size=party_size)
    expected = timedelta(minutes=service.duration_minutes)
    if ends_at - starts_at != expected:
        raise Unprocessable(f"ends_at must be starts_at plus the service duration ({service.duration_minutes} minutes)")
    refusal = deposit_refusal(service)
    if refusal:
        raise Unprocessable(DEPOSIT_UNAVAILABLE if refusal == NO_STRIPE_MESSAGE else refusal)
    # A class below its minimum opens pending, as through every other surface (bookings.services.quorum).
    status = BookingStatus.PENDING if service.deposit_minor else group_initial_status(service, party_size)
    location = _location_for(service, starts_at, location)
    checkout = None
    if service.deposit_minor:
        checkout = deposit_checkout_open(
            service=service, location=location, starts_at=starts_at, email=contact["email"]
        )
    return PreparedPublicBooking(
        api_key=api_key,
        service=service,
        location=location,
        starts_at=starts_at,
        timezone=timezone,
        contact=contact,
        party_size=party_size,
        host=host,
        team=team,
        notes=notes,
        status=status,
        checkout=checkout,
    )


def public_booking_create(*, prepared: PreparedPublicBooking, now: datetime | None = None) -> PublicBooking:
    """Book the prepared slot for the person in its contact (409 taken, 422 not a slot), with the
    customer found or created by email in the same transaction; the confirmation email is queued in
    it and leaves once it has committed (a deposit booking's once paid)."""
    service, location, contact = prepared.service, prepared.location, prepared.contact
    participant = None
    # An appointment's confirmation is rendered from the booking as it is written and rides in its
    # INSERT (bookings.services.bookings' riders); a place in a class is confirmed once taken.
    emails_with_booking = prepared.checkout is None and not service.is_group
    confirmation: list[PreparedEmails] = []

    def confirmation_rows(booking: Booking) -> list[Model]:
        queued = booking_confirmation_prepared(booking)
        if queued is None:
            return []
        confirmation.append(queued)
        return list(queued.rows)

    with transaction.atomic():
        # The slot's writer locks are taken in the customer's statement (one round trip on PostgreSQL).
        locks = slot_locks(service=service, location=location, starts_at=prepared.starts_at, staff=prepared.host)
        customer = locks_take_riding(locks, lambda riding: _customer_for(service.organization, contact, riding))
        booking = booking_create(
            service=service,
            location=location,
            starts_at=prepared.starts_at,
            customer=customer,
            actor=Actor(key=prepared.api_key),
            staff=prepared.host,
            team=prepared.team,
            party_size=prepared.party_size,
            status=prepared.status,
            source=SOURCE,
            timezone=prepared.timezone,
            contact=Contact(name=contact["name"].strip(), email=customer.email, phone=contact.get("phone") or ""),
            notes=prepared.notes,
            customer_note=prepared.notes if service.is_group else "",
            checkout=prepared.checkout,
            now=now,
            emails_booker=prepared.checkout is None,
            savepoint=False,  # any refusal ends this whole transaction
            locks=locks,
            riders=confirmation_rows if emails_with_booking else None,
        )
        _relations_attach(booking, service=service, location=location)
        for queued in confirmation:
            queued.send_after_commit()
        if prepared.checkout is None and not emails_with_booking:
            # A group session's own contact is whoever opened it: the person who just joined gets
            # their own email and invite, rendered once from this instance into the outbox (one
            # INSERT) and tried once the booking has committed.
            participant = booker_place(booking, customer)
            booking_confirmation_queue(booking, participant=participant)
    return PublicBooking(booking=booking, participant=participant)


def _relations_attach(booking: Booking, *, service: Service, location: Location) -> None:
    """Give `booking` the service, location and organization rows already in hand (what the email
    and the answer show), so that neither reads them again."""
    if booking.service_id == service.pk and not Booking.service.is_cached(booking):
        booking.service = service
    if booking.location_id == location.pk and not Booking.location.is_cached(booking):
        booking.location = location
    if booking.organization_id == location.organization_id and not Booking.organization.is_cached(booking):
        booking.organization = location.organization
