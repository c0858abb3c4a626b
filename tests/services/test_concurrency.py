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


def test_thirty_holds_race_for_a_class_of_twelve_seats(settings):
    # Thirty clients share one session token here; a token's own cap on active holds (3, tested in
    # tests/api/holds/test_hold_limits.py) is lifted so that the seats alone decide.
    settings.HOLD_MAX_ACTIVE = 30
    org = make_org()
    location = make_location(org)
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_min=1, capacity_max=12)
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    starts_at = local_dt(org.timezone, future_day(), 10) + timedelta(hours=1)

    codes = race(30, lambda i: hold_request(secret, yoga, location, starts_at))

    assert Counter(codes) == {201: 12, 409: 18}


def test_ten_holds_at_once_from_one_session_token_place_three():
    """The cap on a token's active holds is counted under its lock: concurrent requests cannot all
    see two holds and each place a third."""
    org = make_org()
    location = make_location(org, hours=(time(9), time(17)))
    service = make_service(org, locations=[location], staff=[make_staff(org)], duration_minutes=30)
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    first = local_dt(org.timezone, future_day(), 9)

    codes = race(10, lambda i: hold_request(secret, service, location, first + timedelta(minutes=30 * i)))

    assert Counter(codes) == {201: 3, 429: 7}
    assert Hold.objects.filter(status="active").count() == 3


def _deadlocks_so_far() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_class_series_race_single_bookings_on_the_same_staff_without_deadlock(settings):
    """Four weekly class series, each starting a week after the other, race single appointments
    of the class's host in the same weeks. Each series needs the session keys of all its weeks and
    the host; taken one occurrence at a time, a series holding the host and wanting next week's
    session would deadlock against the series that opened next week's session first (and the
    deadlock, or a lock timeout, came back disguised as "occurrence(s) conflict"). Every writer
    takes its keys in one call now.

    Round one: nothing really conflicts (the appointments are at noon), so every writer succeeds.
    Round two: the appointments take the class's hour in weeks 2 to 5, so each writer gets 201
    or 409, and the host is never booked twice at once. PostgreSQL counts no deadlock in either."""
    from bookings.services.merchant_bookings import merchant_booking_create
    from bookings.services.series import RecurrenceRule
    from organizations.errors import DomainError

    org = make_org()
    location = make_location(org, hours=(time(8), time(20)))
    host = make_staff(org, hours=(time(8), time(20)))
    yoga = make_service(
        org, locations=[location], staff=[host], kind=Service.Kind.GROUP, capacity_min=1, capacity_max=10
    )
    haircut = make_service(org, locations=[location], staff=[host], duration_minutes=60)
    customers = [make_customer(org) for _ in range(8)]
    # Writers queue for the host; on a loaded machine the queue may outlast the default 5 s, and a
    # lock timeout is not what this test is about (a deadlock is: PostgreSQL detects it in 1 s).
    settings.BOOKING_LOCK_TIMEOUT_MS = 60_000
    deadlocks = _deadlocks_so_far()

    def round_of(first_day, appointment_at):
        weeks = [local_dt(org.timezone, first_day + timedelta(weeks=w), 10) for w in range(6)]

        def work(i):
            if i < 4:  # a class series from week i to the last week
                return merchant_booking_create(
                    service=yoga,
                    location=location,
                    starts_at=weeks[i],
                    customers=[customers[i]],
                    actor=SYSTEM,
                    rule=RecurrenceRule(frequency="WEEKLY", until=weeks[-1] + timedelta(minutes=1)),
                )
            return booking_create(  # an appointment of the host
                service=haircut,
                location=location,
                starts_at=appointment_at(weeks, i),
                customer=customers[i],
                actor=SYSTEM,
                staff=host,
            )

        return race(8, work)

    quiet = round_of(future_day(days_ahead=7), lambda weeks, i: weeks[i - 4] + timedelta(hours=2))
    assert all(not isinstance(result, BaseException) for result in quiet), quiet

    contested = round_of(future_day(days_ahead=70), lambda weeks, i: weeks[i - 2])
    for result in contested:
        if isinstance(result, BaseException):
            assert isinstance(result, DomainError) and result.status_code == 409, repr(result)
    assert any(not isinstance(result, BaseException) for result in contested)

    busy = sorted(
        Booking.objects.filter(staff=host, status__in=ACTIVE_STATUSES).values_list("blocked_start", "blocked_end")
    )
    for (_, end), (start, _) in zip(busy, busy[1:], strict=False):
        assert end <= start, "the host is booked twice at once"
    assert _deadlocks_so_far() == deadlocks
