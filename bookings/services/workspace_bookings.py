"""Bookings a merchant makes in the workspace (the admin) for one customer, existing or new.

The same core as every surface (locks, re-check, audit with the admin user as actor, outbox), and
the customer's confirmation is written to the email outbox with the booking and leaves once it has
committed, as a public booker's does.
"""

from datetime import datetime

from django.db import transaction

from bookings.models import Booking
from bookings.notifications import booking_confirmation_queue
from bookings.services.actors import Actor
from bookings.services.bookings import booker_place, booking_create
from bookings.services.merchant_bookings import NewCustomer
from bookings.services.quorum import group_initial_status
from organizations.errors import InvalidInput
from organizations.models import Customer, Location, Service, StaffMember
from organizations.services import customer_get_or_create

SOURCE = "admin"


def workspace_booking_create(
    *,
    service: Service,
    location: Location,
    starts_at: datetime,
    customer: Customer | NewCustomer,
    actor: Actor,
    staff: StaffMember | None = None,
    party_size: int = 1,
    notes: str = "",
    now: datetime | None = None,
) -> Booking:
    """Book `customer` at `starts_at`: an appointment (`staff` None: any free staff member), or a
    place in the group session there (opened if needed). A new customer is found or created by
    email in the service's organization, in the same transaction. 409 when the slot is taken, 422
    when it is not a slot (outside hours, too soon, too far ahead), as through the APIs."""
    if isinstance(customer, NewCustomer) and not customer.first_name.strip():
        raise InvalidInput("first_name: a new customer needs a first name")
    with transaction.atomic():
        if isinstance(customer, NewCustomer):
            customer = customer_get_or_create(
                organization=service.organization,
                email=customer.email,
                first_name=customer.first_name.strip(),
                last_name=customer.last_name.strip(),
                phone=customer.phone.strip(),
            )
        booking = booking_create(
            service=service,
            location=location,
            starts_at=starts_at,
            customer=customer,
            actor=actor,
            staff=staff,
            party_size=party_size,
            status=group_initial_status(service, party_size),
            source=SOURCE,
            notes="" if service.is_group else notes,
            customer_note=notes if service.is_group else "",
            now=now,
            emails_booker=True,  # the booker gets their own confirmation below, not the class's notice
        )
        booking_confirmation_queue(booking, participant=booker_place(booking, customer))
    return booking
