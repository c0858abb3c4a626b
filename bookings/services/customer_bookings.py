"""Bookings a customer makes for themselves (`POST /bookings/customer`): an appointment, or a place in a class."""

from datetime import datetime

from django.db import transaction

from bookings.models import Booking
from bookings.services.actors import Actor
from bookings.services.bookings import booking_create, participant_join
from bookings.services.quorum import group_initial_status, session_confirm_on_quorum
from organizations.errors import Unprocessable
from organizations.models import Customer, Location, Service

# What a refusal to join says: nothing of the booking the id named (its time, service or place).
NOT_JOINABLE = "booking_id: this booking cannot be joined with this service, location and time"


def customer_booking_create(
    *,
    customer: Customer,
    service: Service,
    location: Location,
    starts_at: datetime,
    actor: Actor,
    note: str = "",
    joining: Booking | None = None,
) -> Booking:
    """Book `customer` into `service` at `starts_at`, or into the group session `joining` (which must be
    that service's session at that place and time), in one transaction; a class reaching its minimum
    with them goes ahead (confirmed, its participants told after commit)."""
    if joining is not None and (
        (joining.service_id, joining.location_id) != (service.pk, location.pk)
        or (joining.is_group and joining.starts_at != starts_at)
    ):
        raise Unprocessable(NOT_JOINABLE)
    with transaction.atomic():
        if joining is not None:
            participant_join(booking=joining, customer=customer, actor=actor, note=note)
            booking = joining
        else:
            booking = booking_create(
                service=service,
                location=location,
                starts_at=starts_at,
                customer=customer,
                actor=actor,
                customer_note=note,
                source="customer",
                status=group_initial_status(service, 1),
            )
        return session_confirm_on_quorum(session=booking, actor=actor)
