"""Bookings a merchant makes for customers: one appointment, one group session, or a recurring series."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from bookings.models import Booking, RecurringSeries
from bookings.services.actors import Actor
from bookings.services.bookings import booking_create
from bookings.services.quorum import group_initial_status, session_confirm_on_quorum
from bookings.services.reservation import locks_take, slot_locks
from bookings.services.series import RecurrenceRule, series_create
from organizations.errors import Conflict, InvalidInput, Unprocessable
from organizations.models import Customer, Location, Service, StaffMember
from organizations.services import customer_get_or_create


@dataclass(frozen=True)
class NewCustomer:
    first_name: str
    last_name: str = ""
    email: str = ""
    phone: str = ""


def _customers_resolve(service: Service, customers: list[Customer | NewCustomer]) -> list[Customer]:
    """Existing customers as they are; new ones created (or matched by email) in the service's organization."""
    resolved = []
    for customer in customers:
        if isinstance(customer, NewCustomer):
            customer = customer_get_or_create(
                organization=service.organization,
                email=customer.email,
                first_name=customer.first_name,
                last_name=customer.last_name,
                phone=customer.phone,
            )
        if customer in resolved:
            raise InvalidInput(f"customers: {customer.uuid} is listed twice")
        resolved.append(customer)
    return resolved


def _location_of(service: Service, location: Location | None) -> Location:
    """The location asked for, else the service's only one (422 when it has none, or several)."""
    if location is not None:
        return location
    offered = list(service.locations.select_related("organization")[:2])
    if not offered:
        raise Unprocessable("The service is not offered at any location")
    if len(offered) > 1:
        raise Unprocessable("location_id: the service is offered at several locations; name one")
    return offered[0]


def merchant_booking_create(
    *,
    service: Service,
    location: Location | None,
    starts_at: datetime,
    customers: list[Customer | NewCustomer],
    actor: Actor,
    staff: StaffMember | None = None,
    merchant_note: str = "",
    rule: RecurrenceRule | None = None,
) -> Booking | RecurringSeries:
    """Book for the listed customers, all or nothing.

    An appointment takes exactly one customer (422). A group service books every customer into
    one session; more customers than its maximum capacity is a 409 before anything is tried, and
    a session below its minimum stays pending until enough participants join.
    """
    if not customers:
        raise InvalidInput("customers: at least one customer is required")
    if not service.is_group and len(customers) != 1:
        raise Unprocessable(f"customers: an appointment takes exactly one customer, got {len(customers)}")
    if service.is_group and len(customers) > service.capacity_max:
        raise Conflict(
            f"Capacity reached: {service.name} takes at most {service.capacity_max} participants, got {len(customers)}"
        )
    location = _location_of(service, location)
    with transaction.atomic():
        resolved = _customers_resolve(service, customers)
        if rule is not None:
            return series_create(
                service=service,
                location=location,
                starts_at=starts_at,
                rule=rule,
                customers=resolved,
                actor=actor,
                staff=staff,
                merchant_note=merchant_note,
            )
        # Every customer takes a seat of the same slot: its locks are taken once, for all of them.
        locks = locks_take(slot_locks(service=service, location=location, starts_at=starts_at, staff=staff))
        booking = None
        for customer in resolved:
            booking = booking_create(
                service=service,
                location=location,
                starts_at=starts_at,
                customer=customer,
                actor=actor,
                staff=staff,
                merchant_note=merchant_note,
                source="merchant",
                status=group_initial_status(service, len(resolved)),
                locks=locks,
            )
        assert booking is not None  # at least one customer, checked above
        return session_confirm_on_quorum(session=booking, actor=actor)
