"""Real threads racing for one slot: exactly the capacity wins, everyone else gets 409.

Runs on PostgreSQL (advisory locks + exclusion constraints) and on SQLite (IMMEDIATE
transactions serialize writers), because neither may ever double-book.
"""

import threading
from collections import Counter
from datetime import time, timedelta

import pytest
from django.db import close_old_connections, connection
from rest_framework.test import APIClient

from bookings.models import ACTIVE_STATUSES, Booking, Participant
from bookings.services.actors import SYSTEM
from bookings.services.bookings import booking_create
from holds.models import Hold
from organizations.errors import Conflict
from organizations.models import ApiKey, Service
from tests.factories import (
    future_day,
    local_dt,
    make_customer,
    make_key,
    make_location,
    make_org,
    make_service,
    make_staff,
)

pytestmark = pytest.mark.django_db(transaction=True)


def race(count: int, work) -> list:
    """Run `work(i)` in `count` threads released at once; return their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the result is what the test inspects
            results[i] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def hold_request(secret, service, location, starts_at, party_size=1):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.post(
        "/api/v1/bookings/hold",
        {
            "service_id": str(service.uuid),
            "location_id": str(location.uuid),
            "starts_at": starts_at.isoformat(),
            "party_size": party_size,
        },
        format="json",
    )
    return response.status_code


def test_twenty_clients_race_for_one_slot_one_wins():
    org = make_org()
    location = make_location(org, hours=(time(9), time(17)))
    staff = make_staff(org)
    service = make_service(org, locations=[location], staff=[staff])
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    starts_at = local_dt(org.timezone, future_day(), 10)

    codes = race(20, lambda i: hold_request(secret, service, location, starts_at))

    assert Counter(codes) == {201: 1, 409: 19}
    assert Hold.objects.filter(status="active").count() == 1


def test_twenty_bookings_race_for_one_staff_member_across_services():
    org = make_org()
    location = make_location(org)
    staff = make_staff(org)
    short = make_service(org, locations=[location], staff=[staff], duration_minutes=30)
    long = make_service(org, locations=[location], staff=[staff], duration_minutes=90, slot_interval_minutes=30)
    customers = [make_customer(org) for _ in range(20)]
    day = future_day()

    def book(i):
        service = short if i % 2 else long
        starts_at = local_dt(org.timezone, day, 10, 30 if i % 2 else 0)  # overlapping: 10:00-11:30 and 10:30-11:00
        try:
            booking_create(service=service, location=location, starts_at=starts_at, customer=customers[i], actor=SYSTEM)
            return 201
        except Conflict:
            return 409

    codes = race(20, book)

    assert codes.count(201) == 1 and codes.count(409) == 19
    rows = list(Booking.objects.filter(status__in=ACTIVE_STATUSES).order_by("starts_at"))
    for a, b in zip(rows, rows[1:], strict=False):
        assert a.blocked_end <= b.blocked_start


def test_thirty_clients_race_for_a_class_of_twelve():
    org = make_org()
    location = make_location(org)
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_min=2, capacity_max=12)
    customers = [make_customer(org) for _ in range(30)]
    starts_at = local_dt(org.timezone, future_day(), 10)

    def join(i):
        try:
            booking_create(service=yoga, location=location, starts_at=starts_at, customer=customers[i], actor=SYSTEM)
            return 201
        except Conflict:
            return 409

    codes = race(30, join)

    assert Counter(codes) == {201: 12, 409: 18}
    assert Booking.objects.filter(service=yoga, status__in=ACTIVE_STATUSES).count() == 1
    assert Participant.objects.filter(booking__service=yoga, status="active").count() == 12


def test_thirty_holds_race_for_a_class_of_twelve_seats():
    org = make_org()
    location = make_location(org)
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_min=1, capacity_max=12)
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    starts_at = local_dt(org.timezone, future_day(), 10) + timedelta(hours=1)

    codes = race(30, lambda i: hold_request(secret, yoga, location, starts_at))

    assert Counter(codes) == {201: 12, 409: 18}
