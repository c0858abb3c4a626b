"""The public availability and create endpoints read a fixed, small number of queries.

Availability, a question not answered before: the key (1) and the engine's one statement (1; 2 with
the sessions of group services); the service and its locations come from the catalog cache that
the first request filled. A repeated question (the 1-day case) costs the key only: the availability
cache answers it. Slots carry the uuids the engine read, so the view asks nothing more whatever
the window or the number of staff.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from rest_framework.test import APIClient

from bookings.models import Booking, BookingEvent, OutboundEmail, WebhookEvent
from bookings.selectors import service_for_key
from organizations.errors import NotFound
from organizations.models import ApiKey, Service
from tests.factories import local_dt, make_booking, make_key, make_location, make_org, make_service, make_staff

AVAILABILITY = "/api/calendar/v1/public/availability"
CREATE = "/api/calendar/v1/public/bookings"
NY = "America/New_York"
# Were 13 and 14, 9 and 10, then 3 and 4 (asserted as 5 and 6).
AVAILABILITY_QUERIES = {Service.Kind.APPOINTMENT: 2, Service.Kind.GROUP: 3}
# Create, counted inside the test's transaction: the key, the host (or, when any free one will do,
# the service's staff, read to lock them), the customer (inserted, or found, in one statement, which
# on PostgreSQL also takes the advisory locks; elsewhere there are none), the engine (1: the staff, hours,
# overrides, time off, bookings and holds in one statement), the booking, whether the organization
# has webhook endpoints (cached afterwards), and the savepoint that stands for the request's
# transaction inside the test's (with its release). On PostgreSQL the booking's audit row, its
# webhook event and the confirmation email's outbox row (rendered once) ride in the booking's own
# INSERT; elsewhere they are three INSERTs more. The try after commit and its one UPDATE do not run
# inside a test's transaction. booking_create takes no savepoint of its own here: any refusal ends
# the request's transaction. The availability request before it left the service and its locations
# in the catalog cache. Were 29 (host) and 28 + staff, then 23, then 19, 15, 12, 11, 12 (with the
# email outbox) and 9 on PostgreSQL (the locks in a statement of their own).
CREATE_QUERIES_POSTGRESQL = 8
CREATE_QUERIES_ELSEWHERE = 12


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def setup(staff_count: int, kind=Service.Kind.APPOINTMENT):
    org = make_org()
    location = make_location(org, hours=(time(8), time(20)))
    staff = [make_staff(org, hours=(time(8), time(20))) for _ in range(staff_count)]
    service = make_service(org, locations=[location], staff=staff, kind=kind, duration_minutes=30)
    _, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    client = APIClient()
    client.credentials(HTTP_X_KORDLESS_KEY=secret)
    return org, location, staff, service, client


def availability(client, org, service, day: date, days: int = 1):
    params = {"org_slug": org.slug, "service_slug": service.slug, "from": f"{day}T00:00:00Z"}
    params["to"] = f"{day + timedelta(days=days)}T00:00:00Z"
    return client.get(AVAILABILITY, params)


@pytest.mark.django_db
@pytest.mark.parametrize("staff_count", [1, 5, 20])
@pytest.mark.parametrize("days", [1, 31])
@pytest.mark.parametrize("kind", [Service.Kind.APPOINTMENT, Service.Kind.GROUP])
def test_availability_endpoint_query_count(staff_count, days, kind, django_assert_max_num_queries):
    org, location, staff, service, client = setup(staff_count, kind)
    day = date.today() + timedelta(days=3)
    for i, member in enumerate(staff):
        make_booking(
            service,
            location,
            local_dt(NY, day, 8 + i % 12, 30 * (i // 12)),
            staff=member,
            is_group=kind == Service.Kind.GROUP,
        )
    assert availability(client, org, service, day).status_code == 200  # the key's last_used_at is written once
    with django_assert_max_num_queries(AVAILABILITY_QUERIES[kind]):
        response = availability(client, org, service, day, days)
    assert response.status_code == 200
    slots = response.json()["slots"]
    assert slots
    staff_uuids = {str(member.uuid) for member in staff}
    assert {slot["location_id"] for slot in slots} == {str(location.uuid)}
    assert all(set(slot["host_ids"]) <= staff_uuids for slot in slots)
    assert all(slot["host_id"] == (slot["host_ids"][0] if slot["host_ids"] else None) for slot in slots)


@pytest.mark.django_db
def test_a_session_host_who_left_the_service_is_still_shown():
    org, location, staff, service, client = setup(2, Service.Kind.GROUP)
    day = date.today() + timedelta(days=3)
    starts_at = local_dt(NY, day, 10)
    make_booking(service, location, starts_at, staff=staff[1], is_group=True)
    service.staff.remove(staff[1])
    slots = availability(client, org, service, day).json()["slots"]
    session = next(slot for slot in slots if slot["startsAt"] == iso(starts_at))
    assert session["host_ids"] == [str(staff[1].uuid)] and session["host_id"] == str(staff[1].uuid)


def create_body(org, service, starts_at: datetime, **extra) -> dict:
    return {
        "org_slug": org.slug,
        "service_slug": service.slug,
        "starts_at": iso(starts_at),
        "ends_at": iso(starts_at + timedelta(minutes=30)),
        "timezone": NY,
        "contact": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+15550000000"},
        **extra,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("staff_count", [1, 4, 20])
@pytest.mark.parametrize("with_host", [True, False])
def test_create_endpoint_query_count(staff_count, with_host, django_assert_max_num_queries, settings):
    settings.BOOKING_RATE_LIMIT = "1000/m"
    org, location, staff, service, client = setup(staff_count)
    day = date.today() + timedelta(days=3)
    assert availability(client, org, service, day).status_code == 200  # the key's last_used_at is written once
    extra = {"host_id": str(staff[-1].uuid)} if with_host else {}
    queries = CREATE_QUERIES_POSTGRESQL if connection.vendor == "postgresql" else CREATE_QUERIES_ELSEWHERE
    with django_assert_max_num_queries(queries):
        response = client.post(CREATE, create_body(org, service, local_dt(NY, day, 10), **extra), format="json")
    assert response.status_code == 201, response.json()
    booking = Booking.objects.get()
    assert booking.staff == (staff[-1] if with_host else staff[0])
    event = WebhookEvent.objects.get(type="booking.created")
    assert event.data["staff_id"] == str(booking.staff.uuid)
    assert (
        event.data["confirmation_number"]
        == booking.confirmation_number
        == response.json()["booking"]["confirmation_number"]
    )
    assert list(BookingEvent.objects.filter(booking=booking).values_list("action", "to_value")) == [
        ("created", "confirmed")
    ]
    email = OutboundEmail.objects.get(booking=booking)
    assert email.to == ["jane@example.com"] and booking.confirmation_number in email.subject
    assert booking.confirmation_number in email.body_text and booking.public_id in email.ics.lower()


@pytest.mark.django_db
def test_service_for_key_keeps_the_step_by_step_404s():
    org, _location, _staff, service, _client = setup(1)
    other_key, _ = make_key(make_org(), kind=ApiKey.Kind.HUB)
    hub_key, _ = make_key(make_org(), kind=ApiKey.Kind.HUB)
    hub_key.organizations.add(org)
    own_key = ApiKey.objects.get(organizations=org, kind=ApiKey.Kind.PUBLIC)

    assert service_for_key(org.slug, service.slug, own_key) == service
    found = service_for_key(org.slug, service.slug, hub_key)  # a key of several organizations
    assert found == service and found.organization == org
    cases = [
        ("nobody", service.slug, own_key, "Organization not found"),
        (org.slug, service.slug, other_key, "Organization not found"),  # exists, but not this key's
        (org.slug, "juggling", own_key, "Service not found"),
    ]
    Service.objects.filter(pk=service.pk).update(active=False)
    cases.append((org.slug, service.slug, own_key, "Service not found"))
    for org_slug, service_slug, key, detail in cases:
        with pytest.raises(NotFound) as raised:
            service_for_key(org_slug, service_slug, key)
        assert raised.value.detail == detail
