"""Tenants for the admin tests: each organization with one of everything, its owner and its staff.

Every text of a tenant carries its marker ("ALPHAONLY", "BRAVOONLY"), so that a page of one
tenant showing anything of the other is seen by looking for the marker.
"""

from dataclasses import dataclass, field
from datetime import date, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from bookings.models import (
    Booking,
    BookingEvent,
    IdempotencyRecord,
    Participant,
    RecurringSeries,
    StripeEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from bookings.services.actors import SYSTEM
from bookings.services.bookings import booking_create
from bookings.services.holds import hold_place
from holds.models import Hold
from organizations.models import (
    ApiKey,
    Customer,
    DateOverride,
    Location,
    Membership,
    Organization,
    Service,
    StaffMember,
    Team,
    TimeOff,
    WorkingHours,
)
from tests.factories import future_day, local_dt, make_key, make_location, make_org, make_service, make_staff

PASSWORD = "pw-for-tests-1"


@dataclass
class Tenant:
    marker: str
    organization: Organization
    location: Location
    alex: StaffMember
    sam: StaffMember
    haircut: Service
    yoga: Service
    customer: Customer
    owner: object
    staff_user: object
    booking: Booking
    session: Booking
    hold: Hold
    day: date
    objects: dict[type, object] = field(default_factory=dict)

    def at(self, hour: int, minute: int = 0, day: date | None = None):
        return local_dt(self.organization.timezone, day or self.day, hour, minute)


def merchant(username: str, organization: Organization, role: str = Membership.Role.OWNER, **fields):
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True, **fields)
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def build_tenant(marker: str, *, days_ahead: int = 8) -> Tenant:
    """An organization with one row of every model the admin shows, each naming `marker`."""
    slug = marker.lower()
    org = make_org(slug=slug, name=f"{marker} Salon", timezone="America/New_York")
    location = make_location(org, name=f"{marker} Main Street", hours=(time(9), time(17)))
    alex = make_staff(org, name=f"{marker} Alex", email=f"alex@{slug}.example.com", hours=(time(9), time(17)))
    sam = make_staff(org, name=f"{marker} Sam", hours=(time(9), time(17)))
    team = Team.objects.create(organization=org, name=f"{marker} Team")
    team.members.set([alex, sam])
    haircut = make_service(
        org, name=f"{marker} Haircut", slug=f"{slug}-haircut", locations=[location], staff=[alex, sam]
    )
    yoga = make_service(
        org, name=f"{marker} Yoga", slug=f"{slug}-yoga", kind=Service.Kind.GROUP, locations=[location], capacity_max=8
    )
    day = future_day(days_ahead=days_ahead, weekday=1)  # a Tuesday
    customer = Customer.objects.create(
        organization=org,
        first_name=f"{marker} Jane",
        last_name="Doe",
        email=f"jane@{slug}.example.com",
        phone="+15550001",
    )
    endpoint = WebhookEndpoint.objects.create(organization=org, url=f"https://{slug}.example.com/hooks")
    booking = booking_create(
        service=haircut,
        location=location,
        starts_at=local_dt(org.timezone, day, 10),
        customer=customer,
        actor=SYSTEM,
        staff=alex,
        notes=f"{marker} note",
    )
    session = booking_create(
        service=yoga, location=location, starts_at=local_dt(org.timezone, day, 15), customer=customer, actor=SYSTEM
    )
    hold = hold_place(service=haircut, location=location, starts_at=local_dt(org.timezone, day, 13), staff=sam)
    for owner in ({"staff": alex}, {"location": location}):
        TimeOff.objects.create(
            organization=org,
            starts_at=local_dt(org.timezone, day + timedelta(days=1), 9),
            ends_at=local_dt(org.timezone, day + timedelta(days=1), 12),
            reason=f"{marker} dentist",
            **owner,
        )
        DateOverride.objects.create(organization=org, date=day + timedelta(days=2), reason=f"{marker} closed", **owner)
    series = RecurringSeries.objects.create(
        organization=org,
        service=haircut,
        location=location,
        staff=alex,
        rrule=f"FREQ=WEEKLY;COUNT=2;X-{marker}=1",
        timezone=org.timezone,
        dtstart_local=timezone.now(),
        merchant_note=f"{marker} series",
    )
    key, _secret = make_key(org)
    ApiKey.objects.filter(pk=key.pk).update(name=f"{marker} website key")
    key.refresh_from_db()
    record = IdempotencyRecord.objects.create(api_key=key, key=f"{marker}-idem", request_hash="x" * 64, status_code=201)
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id").first()
    assert delivery is not None  # the endpoint existed before the bookings: their events go to it
    attempt = WebhookAttempt.objects.create(delivery=delivery, status_code=500, error=f"{marker} boom")
    owner = merchant(f"{slug}-owner", org, email=f"owner@{slug}.example.com")
    staff_user = merchant(f"{slug}-desk", org, role=Membership.Role.STAFF, email=f"desk@{slug}.example.com")
    group = Group.objects.create(name=f"{marker} group")
    stripe_event = StripeEvent.objects.create(event_id=f"evt_{marker}", type="checkout.session.completed")
    tenant = Tenant(
        marker=marker,
        organization=org,
        location=location,
        alex=alex,
        sam=sam,
        haircut=haircut,
        yoga=yoga,
        customer=customer,
        owner=owner,
        staff_user=staff_user,
        booking=booking,
        session=session,
        hold=hold,
        day=day,
    )
    tenant.objects = {
        Organization: org,
        Membership: Membership.objects.get(user=owner),
        Location: location,
        StaffMember: alex,
        Team: team,
        Service: haircut,
        WorkingHours: WorkingHours.objects.filter(staff=alex).first(),
        TimeOff: TimeOff.objects.filter(staff=alex).first(),
        DateOverride: DateOverride.objects.filter(staff=alex).first(),
        Customer: customer,
        ApiKey: key,
        Hold: hold,
        Booking: booking,
        Participant: Participant.objects.get(booking=session),
        RecurringSeries: series,
        BookingEvent: BookingEvent.objects.filter(booking=booking).first(),
        IdempotencyRecord: record,
        WebhookEndpoint: endpoint,
        WebhookEvent: WebhookEvent.objects.filter(organization=org).first(),
        WebhookDelivery: delivery,
        WebhookAttempt: attempt,
        StripeEvent: stripe_event,
        get_user_model(): owner,
        Group: group,
    }
    return tenant


@pytest.fixture
def alpha(db) -> Tenant:
    return build_tenant("ALPHAONLY")


@pytest.fixture
def bravo(db) -> Tenant:
    return build_tenant("BRAVOONLY")


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
