"""The engine reads a fixed number of queries whatever the window and the number of staff (no N+1)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bookings.availability import find_slots, service_locations_prefetch, slot_check
from organizations.models import Service
from tests.factories import local_dt, make_booking, make_hold, make_location, make_org, make_service, make_staff

MAX_QUERIES = {Service.Kind.APPOINTMENT: 2, Service.Kind.GROUP: 3}  # were 7 and 8, then 3 and 4
DAY = date(2027, 6, 14)
NOW = datetime(2027, 6, 1, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize("staff_count", [1, 5, 20])
@pytest.mark.parametrize("days", [1, 31])
@pytest.mark.parametrize("kind", [Service.Kind.APPOINTMENT, Service.Kind.GROUP])
def test_availability_query_count_does_not_grow(staff_count, days, kind, django_assert_max_num_queries):
    org = make_org()
    location = make_location(org, hours=(time(8), time(20)))
    staff = [make_staff(org) for _ in range(staff_count)]
    service = make_service(org, locations=[location], staff=staff, kind=kind, slot_interval_minutes=30)
    for i, member in enumerate(staff):
        for d in range(days):
            make_booking(service, location, local_dt("America/New_York", DAY + timedelta(days=d), 8 + i % 12, 30 * (i // 12)),
                         staff=member, is_group=kind == Service.Kind.GROUP)  # fmt: skip
        make_hold(service, location, local_dt("America/New_York", DAY, 16), staff=member,
                  expires_at=NOW + timedelta(minutes=5))  # fmt: skip
    service = Service.objects.get(pk=service.pk)  # nothing cached on the instance
    start = datetime.combine(DAY, time(0), tzinfo=UTC)
    with django_assert_max_num_queries(MAX_QUERIES[kind]):
        slots = find_slots(service, start, start + timedelta(days=days), now=NOW)
    assert slots
    with django_assert_max_num_queries(MAX_QUERIES[kind]):
        slot_check(service, slots[-1].starts_at, location=location, now=NOW)


@pytest.mark.django_db
def test_a_services_locations_read_once_answer_the_orm_and_the_engine_without_another_query(
    django_assert_num_queries,
):
    org = make_org()
    first, second = make_location(org, hours=(time(8), time(20))), make_location(org, hours=(time(8), time(20)))
    service = make_service(org, locations=[second, first], staff=[make_staff(org)])
    make_service(org, locations=[first])  # another service's locations are not this one's
    service = Service.objects.get(pk=service.pk)
    with django_assert_num_queries(1):
        service_locations_prefetch(service)
        service_locations_prefetch(service)  # already there: nothing read
    with django_assert_num_queries(0):
        locations = list(service.locations.all())
        assert [loc.pk for loc in locations] == sorted([first.pk, second.pk])
        assert {loc.organization.pk for loc in locations} == {org.pk}
    expected = list(Service.objects.get(pk=service.pk).locations.order_by("id"))
    assert [(loc.pk, loc.name, loc.timezone) for loc in locations] == [
        (loc.pk, loc.name, loc.timezone) for loc in expected
    ]
    start = datetime.combine(DAY, time(0), tzinfo=UTC)
    with django_assert_num_queries(1):  # the schedule itself: the locations came with the service
        assert find_slots(service, start, start + timedelta(days=1), now=NOW)
