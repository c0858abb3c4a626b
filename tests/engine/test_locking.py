"""Writer locks on PostgreSQL: a slot whose lock another writer holds answers 409 with Retry-After
once the lock timeout passes, and nothing of the refused request is kept."""

import threading
import time as clock
from datetime import time, timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from bookings.locking import _lock_id, lock_key, resources_lock, resources_lock_riding
from bookings.models import Booking
from organizations.errors import Conflict
from organizations.models import ApiKey, Customer
from organizations.services import customer_get_or_create
from tests.factories import future_day, local_dt, make_key, make_location, make_org, make_service, make_staff

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


class HeldElsewhere:
    """Advisory locks held by another database session (as a concurrent writer would)."""

    def __init__(self, *keys: str):
        self.ids = [_lock_id(key) for key in keys]

    def __enter__(self):
        self.other = connections.create_connection("default")
        with self.other.cursor() as cursor:
            for lock_id in self.ids:
                cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
        return self

    def __exit__(self, *exc):
        with self.other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")
        self.other.close()


def test_a_slot_locked_elsewhere_is_409_with_retry_after_and_nothing_is_kept(settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = 200
    settings.BOOKING_RATE_LIMIT = "1000/m"
    org = make_org()
    location = make_location(org, hours=(time(8), time(20)))
    staff = make_staff(org, hours=(time(8), time(20)))
    service = make_service(org, locations=[location], staff=[staff], duration_minutes=30)
    _, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    client = APIClient()
    client.credentials(HTTP_X_KORDLESS_KEY=secret)
    starts_at = local_dt(org.timezone, future_day(), 10)
    body = {
        "org_slug": org.slug,
        "service_slug": service.slug,
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(minutes=30)).isoformat(),
        "timezone": org.timezone,
        "contact": {"name": "Jane Doe", "email": "jane@example.com"},
        "host_id": str(staff.uuid),
    }

    with HeldElsewhere(lock_key("staff", staff.pk)):
        response = client.post("/api/calendar/v1/public/bookings", body, format="json")
    assert response.status_code == 409, response.json()
    assert response["Retry-After"] == "1"
    assert "try again" in response.json()["detail"]
    assert not Booking.objects.exists() and not Customer.objects.exists()

    response = client.post("/api/calendar/v1/public/bookings", body, format="json")  # the lock is free again
    assert response.status_code == 201, response.json()


@pytest.mark.django_db(transaction=True)  # each atomic block is a real transaction: its locks end with it
def test_several_keys_are_taken_in_one_call_and_any_one_held_elsewhere_times_out(settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = 100
    keys = [lock_key("staff", n) for n in (3, 1, 2)]
    with transaction.atomic():
        resources_lock(keys)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            assert cursor.fetchone()[0] == 3
    for held in keys:
        with HeldElsewhere(held), pytest.raises(Conflict), transaction.atomic():
            resources_lock(keys)


def _customer_statement_for(org, email: str):
    """A booking's first statement, the customer found or created, carrying a rider if given."""

    def statement(riding):
        return customer_get_or_create(organization=org, email=email, first_name="Jo", riding=riding)

    return statement


def _customer_statement(email: str):
    org = make_org()
    return org, _customer_statement_for(org, email)


def _advisory_locks_held() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_locks_riding_in_the_customers_statement_are_held_after_it_in_one_round_trip(settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = 100
    keys = [lock_key("staff", n) for n in (7, 5, 6)]
    org, statement = _customer_statement("jo@example.com")
    for _ in range(2):  # the customer created, then found: the locks are taken either way
        with transaction.atomic():
            with CaptureQueriesContext(connection) as ctx:
                customer = resources_lock_riding(keys, statement)
            assert len(ctx.captured_queries) == 1 and "pg_advisory_xact_lock" in ctx.captured_queries[0]["sql"]
            assert _advisory_locks_held() == 3
        assert Customer.objects.get(organization=org).pk == customer.pk
    for held in keys:  # any one held elsewhere: refused once the timeout passes, nothing kept
        with HeldElsewhere(held), pytest.raises(Conflict), transaction.atomic():
            resources_lock_riding(keys, _customer_statement(f"held{held}@example.com")[1])
        assert not Customer.objects.filter(email=f"held{held}@example.com").exists()


@pytest.mark.django_db(transaction=True)
def test_a_statement_that_cannot_carry_the_locks_has_them_taken_after_it():
    keys = [lock_key("staff", 8)]
    org, statement = _customer_statement("")  # a blank email: a plain insert, no rider
    with transaction.atomic():
        with CaptureQueriesContext(connection) as ctx:
            resources_lock_riding(keys, statement)
        assert len(ctx.captured_queries) == 2 and "pg_advisory_xact_lock" in ctx.captured_queries[1]["sql"]
        assert _advisory_locks_held() == 1
    assert Customer.objects.filter(organization=org).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_customer_comes_before_the_locks_riding_with_it():
    """As on every other path: a booking waiting for a customer another writer is inserting holds no
    lock meanwhile (so no writer can hold a lock while waiting for a customer, and none deadlock)."""
    org = make_org()
    keys = [lock_key("staff", 9)]
    inserting = connections.create_connection("default")  # another writer, its new customer not committed
    inserting.set_autocommit(False)
    with inserting.cursor() as cursor:
        cursor.execute(
            "INSERT INTO organizations_customer (uuid, created_at, organization_id, first_name, last_name, email,"
            " phone, notes) VALUES (gen_random_uuid(), now(), %s, 'Jo', '', 'jo@example.com', '', '')",
            [org.pk],
        )
    booker: dict = {}

    def book():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    booker["pid"] = cursor.fetchone()[0]
                booker["customer"] = resources_lock_riding(keys, _customer_statement_for(org, "jo@example.com"))
                booker["locks"] = _advisory_locks_held()
        finally:
            connection.close()

    thread = threading.Thread(target=book)
    thread.start()
    watcher = connections.create_connection("default")  # in autocommit: each read sees the activity now
    try:
        with watcher.cursor() as cursor:
            for _ in range(250):  # until the booker waits for the other writer's row
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [booker.get("pid", 0)])
                row = cursor.fetchone()
                if row and row[0] == "Lock":
                    break
                clock.sleep(0.02)
            else:
                pytest.fail("the booking never waited for the customer being inserted")
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = %s", [booker["pid"]])
            assert cursor.fetchone()[0] == 0  # waiting for the customer, holding no lock
    finally:
        watcher.close()
        inserting.rollback()
        inserting.close()
        thread.join(10)
    assert booker["locks"] == 1 and booker["customer"].pk is not None  # then created, and the lock taken
    assert Customer.objects.get(organization=org, email="jo@example.com").pk == booker["customer"].pk
