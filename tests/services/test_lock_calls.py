"""One `resources_lock` call per transaction, with every key a writer needs, on every booking path.

A writer that locked in two calls (a class's session, then its host; one occurrence of a series
after another) could take its keys in an order that inverts against another writer's: a deadlock.
These tests count the calls each service makes and check the keys cover what it books.
"""

from datetime import UTC, timedelta

import pytest

from bookings.locking import lock_key, resources_lock, resources_lock_riding
from bookings.services import reservation
from bookings.services.actors import SYSTEM
from bookings.services.bookings import booking_create, booking_create_from_hold, booking_reschedule, participant_join
from bookings.services.holds import hold_place
from bookings.services.merchant_bookings import merchant_booking_create
from bookings.services.public_booking import public_booking_create, public_booking_prepare
from bookings.services.series import RecurrenceRule
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

pytestmark = pytest.mark.django_db
TZ = "Europe/Berlin"


@pytest.fixture
def calls(monkeypatch) -> list[frozenset[str]]:
    """The keys of every lock call the services make, in order."""
    taken: list[frozenset[str]] = []
    real, riding = resources_lock, resources_lock_riding  # what reservation calls by these names until patched

    def spy(keys):
        taken.append(frozenset(keys))
        return real(keys)

    def riding_spy(keys, statement):
        taken.append(frozenset(keys))
        return riding(keys, statement)

    monkeypatch.setattr(reservation, "resources_lock", spy)
    monkeypatch.setattr(reservation, "resources_lock_riding", riding_spy)
    return taken


@pytest.fixture
def studio():
    org = make_org(timezone=TZ)
    location = make_location(org)
    alex, sam = make_staff(org), make_staff(org)
    haircut = make_service(org, locations=[location], staff=[alex, sam], duration_minutes=60)
    yoga = make_service(
        org, locations=[location], staff=[alex, sam], kind=Service.Kind.GROUP, capacity_max=10, capacity_min=1
    )
    day = future_day(weekday=2)
    return org, location, (alex, sam), haircut, yoga, (lambda hour: local_dt(TZ, day, hour).astimezone(UTC))


def staff_keys(*members) -> set[str]:
    return {lock_key("staff", member.pk) for member in members}


def test_an_appointment_with_any_staff_locks_all_of_them_at_once(calls, studio):
    org, location, staff, haircut, _yoga, at = studio
    booking_create(service=haircut, location=location, starts_at=at(10), customer=make_customer(org), actor=SYSTEM)
    assert calls == [staff_keys(*staff)]


@pytest.mark.parametrize("with_host", [True, False])
def test_a_public_booking_locks_once_in_its_customers_statement(calls, studio, with_host):
    org, location, (alex, sam), haircut, _yoga, at = studio
    prepared = public_booking_prepare(
        api_key=make_key(org, kind=ApiKey.Kind.PUBLIC)[0],
        service=haircut,
        starts_at=at(10),
        ends_at=at(11),
        timezone=TZ,
        contact={"name": "Jo Doe", "email": "jo@example.com"},
        host=alex if with_host else None,
        location=location,
    )
    booked = public_booking_create(prepared=prepared)
    assert calls == [staff_keys(alex) if with_host else staff_keys(alex, sam)]
    assert booked.booking.customer.email == "jo@example.com" and booked.booking.staff == alex


def test_an_appointment_with_its_staff_member_locks_that_member(calls, studio):
    org, location, (alex, _sam), haircut, _yoga, at = studio
    booking_create(
        service=haircut, location=location, starts_at=at(10), customer=make_customer(org), actor=SYSTEM, staff=alex
    )
    assert calls == [staff_keys(alex)]


def test_a_class_locks_its_session_and_its_possible_hosts_in_one_call(calls, studio):
    org, location, staff, _haircut, yoga, at = studio
    booking_create(service=yoga, location=location, starts_at=at(15), customer=make_customer(org), actor=SYSTEM)
    group = lock_key("group", yoga.pk, location.pk, at(15).isoformat())
    assert calls == [{group} | staff_keys(*staff)]


def test_joining_a_class_is_one_call(calls, studio):
    org, location, _staff, _haircut, yoga, at = studio
    session = booking_create(
        service=yoga, location=location, starts_at=at(15), customer=make_customer(org), actor=SYSTEM
    )
    calls.clear()
    participant_join(booking=session, customer=make_customer(org), actor=SYSTEM)
    assert len(calls) == 1


def test_several_customers_into_one_class_lock_once(calls, studio):
    org, location, _staff, _haircut, yoga, at = studio
    customers = [make_customer(org) for _ in range(3)]
    session = merchant_booking_create(
        service=yoga, location=location, starts_at=at(15), customers=customers, actor=SYSTEM
    )
    assert session.participants.count() == 3
    assert len(calls) == 1


def test_a_series_locks_every_occurrence_in_one_call(calls, studio):
    org, location, staff, _haircut, yoga, at = studio
    rule = RecurrenceRule(frequency="WEEKLY", until=at(15) + timedelta(weeks=3, hours=1))
    series = merchant_booking_create(
        service=yoga, location=location, starts_at=at(15), customers=[make_customer(org)], actor=SYSTEM, rule=rule
    )
    starts = sorted(series.bookings.values_list("starts_at", flat=True))
    assert len(starts) == 4
    assert len(calls) == 1
    groups = {lock_key("group", yoga.pk, location.pk, start.astimezone(UTC).isoformat()) for start in starts}
    assert calls[0] == groups | staff_keys(*staff)


def test_holds_their_conversion_and_a_reschedule_are_one_call_each(calls, studio):
    org, location, (alex, _sam), haircut, _yoga, at = studio
    hold = hold_place(service=haircut, location=location, starts_at=at(10), staff=alex)
    booking = booking_create_from_hold(hold=hold, customer=make_customer(org), actor=SYSTEM)
    booking_reschedule(booking=booking, starts_at=at(12), actor=SYSTEM)
    assert calls == [staff_keys(alex)] * 3
