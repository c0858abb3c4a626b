"""Small factories: each test builds exactly the data it needs."""

import itertools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from organizations.keys import api_key_create
from organizations.models import (
    ApiKey,
    Customer,
    Location,
    Organization,
    Service,
    StaffMember,
    WorkingHours,
)

_counter = itertools.count(1)
ALL_WEEK = range(7)


def make_org(*, slug: str | None = None, timezone: str = "America/New_York", **fields) -> Organization:
    n = next(_counter)
    fields.setdefault("min_notice_minutes", 0)
    return Organization.objects.create(
        slug=slug or f"org-{n}", name=fields.pop("name", f"Org {n}"), timezone=timezone, **fields
    )


def make_location(org: Organization, *, hours: tuple[time, time] | None = (time(9), time(17)), days=ALL_WEEK, **fields):
    fields.setdefault("name", f"Location {next(_counter)}")
    fields.setdefault("value", "1 Test Street")
    location = Location.objects.create(organization=org, **fields)
    if hours:
        add_hours(location, days=days, start=hours[0], end=hours[1])
    return location


def make_staff(org: Organization, *, hours: tuple[time, time] | None = (time(9), time(17)), days=ALL_WEEK, **fields):
    fields.setdefault("name", f"Staff {next(_counter)}")
    member = StaffMember.objects.create(organization=org, **fields)
    if hours:
        add_hours(member, days=days, start=hours[0], end=hours[1])
    return member


def add_hours(owner, *, days=ALL_WEEK, start: time = time(9), end: time = time(17)) -> None:
    owner_field = "staff" if isinstance(owner, StaffMember) else "location"
    WorkingHours.objects.bulk_create(
        WorkingHours(
            organization_id=owner.organization_id, weekday=d, start_time=start, end_time=end, **{owner_field: owner}
        )
        for d in days
    )


def make_service(org: Organization, *, locations=(), staff=(), **fields) -> Service:
    n = next(_counter)
    fields.setdefault("slug", f"service-{n}")
    fields.setdefault("name", f"Service {n}")
    fields.setdefault("duration_minutes", 60)
    if fields.get("kind") == Service.Kind.GROUP:
        fields.setdefault("capacity_max", 10)
    service = Service.objects.create(organization=org, **fields)
    service.locations.set(locations)
    service.staff.set(staff)
    return service


def make_customer(org: Organization, **fields) -> Customer:
    n = next(_counter)
    fields.setdefault("first_name", f"Customer{n}")
    fields.setdefault("last_name", "Test")
    fields.setdefault("email", f"customer{n}@example.com")
    return Customer.objects.create(organization=org, **fields)


def make_key(
    *orgs: Organization, kind: str = ApiKey.Kind.BUSINESS, customer: Customer | None = None
) -> tuple[ApiKey, str]:
    return api_key_create(kind=kind, organizations=list(orgs), customer=customer)


def local_dt(tz: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(tz))


def future_day(*, days_ahead: int = 7, weekday: int | None = None) -> date:
    """A date comfortably in the future; with `weekday`, the first such weekday from then on."""
    day = date.today() + timedelta(days=days_ahead)
    if weekday is not None:
        day += timedelta(days=(weekday - day.weekday()) % 7)
    return day


def make_booking(service: Service, location: Location, starts_at: datetime, *, staff=None, customer=None, **fields):
    """An active booking row written directly (no checks): the engine's input, not its output."""
    from bookings.models import Booking

    ends_at = starts_at + timedelta(minutes=service.duration_minutes)
    return Booking.objects.create(
        organization_id=service.organization_id,
        service=service,
        location=location,
        staff=staff,
        customer=customer,
        starts_at=starts_at,
        ends_at=ends_at,
        blocked_start=starts_at - timedelta(minutes=service.buffer_before_minutes),
        blocked_end=ends_at + timedelta(minutes=service.buffer_after_minutes),
        timezone=location.tz.key,
        **fields,
    )


def make_hold(service: Service, location: Location, starts_at: datetime, *, expires_at: datetime, staff=None, **fields):
    """A hold row written directly (no checks)."""
    from holds.models import Hold

    ends_at = starts_at + timedelta(minutes=service.duration_minutes)
    return Hold.objects.create(
        organization_id=service.organization_id,
        service=service,
        location=location,
        staff=staff,
        starts_at=starts_at,
        ends_at=ends_at,
        blocked_start=starts_at - timedelta(minutes=service.buffer_before_minutes),
        blocked_end=ends_at + timedelta(minutes=service.buffer_after_minutes),
        expires_at=expires_at,
        **fields,
    )


def make_core_booking(service: Service, *, starts_at: datetime, customer: Customer | None = None, **kwargs):
    """A booking made through the scheduling core (a real, checked slot, with its audit row and event)."""
    from bookings.services.actors import SYSTEM
    from bookings.services.bookings import booking_create

    location = kwargs.pop("location", None) or service.locations.first()
    assert location is not None, "the service needs a location"
    customer = customer or make_customer(service.organization)
    return booking_create(
        service=service, location=location, starts_at=starts_at, customer=customer, actor=SYSTEM, **kwargs
    )
