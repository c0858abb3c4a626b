"""Property-based tests: whatever the schedule, bookings and holds, offered slots are really free."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookings.availability import find_slots
from bookings.models import ACTIVE_STATUSES, Booking
from holds.models import Hold
from organizations.models import WorkingHours
from tests.factories import make_booking, make_hold, make_location, make_org, make_service, make_staff

TZ = "Europe/Berlin"
DAY = date(2027, 3, 26)  # a Friday, two days before the spring change
NOW = datetime(2027, 3, 26, 8, 0, tzinfo=UTC)

booking_specs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=4 * 24 * 4),  # start, in quarter hours from the window start
        st.integers(min_value=0, max_value=2),  # which staff member
        st.sampled_from(["confirmed", "pending", "cancelled", "in_progress", "completed"]),
        st.booleans(),  # a hold instead of a booking
        st.integers(min_value=-30, max_value=30),  # hold expiry relative to now, minutes
    ),
    max_size=12,
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=booking_specs,
    duration=st.sampled_from([15, 30, 45, 60, 90]),
    interval=st.sampled_from([0, 15, 30]),
    before=st.sampled_from([0, 10, 15]),
    after=st.sampled_from([0, 5, 30]),
    notice=st.sampled_from([0, 60, 24 * 60]),
    opening=st.tuples(st.integers(min_value=6, max_value=11), st.integers(min_value=14, max_value=22)),
)
def test_offered_slots_are_free_in_hours_and_after_notice(specs, duration, interval, before, after, notice, opening):
    # Each example in its own savepoint, rolled back: examples never see each other's rows.
    with transaction.atomic():
        check_example(specs, duration, interval, before, after, notice, opening)
        transaction.set_rollback(True)


def check_example(specs, duration, interval, before, after, notice, opening):
    org = make_org(timezone=TZ, min_notice_minutes=notice)
    location = make_location(org, hours=(time(opening[0]), time(opening[1])))
    staff = [make_staff(org, hours=(time(opening[0] + i), time(opening[1]))) for i in range(3)]
    service = make_service(
        org,
        locations=[location],
        staff=staff,
        duration_minutes=duration,
        slot_interval_minutes=interval or None,
        buffer_before_minutes=before,
        buffer_after_minutes=after,
    )
    other = make_service(org, locations=[location], staff=staff, duration_minutes=45, buffer_after_minutes=15)
    window_start = datetime.combine(DAY, time(0), tzinfo=UTC)
    for quarter, who, status, is_hold, expiry in specs:
        starts_at = window_start + timedelta(minutes=15 * quarter)
        target = service if quarter % 2 else other
        if is_hold:
            make_hold(target, location, starts_at, staff=staff[who], expires_at=NOW + timedelta(minutes=expiry))
        else:
            try:
                with transaction.atomic():
                    make_booking(target, location, starts_at, staff=staff[who], status=status)
            except IntegrityError:
                pass  # PostgreSQL refuses an overlapping active booking: that is the guarantee

    slots = find_slots(service, window_start, window_start + timedelta(days=4), now=NOW)

    busy = [
        (b.staff_id, b.blocked_start, b.blocked_end)
        for b in Booking.objects.filter(organization=org, status__in=ACTIVE_STATUSES)
    ] + [
        (h.staff_id, h.blocked_start, h.blocked_end)
        for h in Hold.objects.filter(organization=org, status="active", expires_at__gt=NOW)
    ]
    hours = {(h.staff_id, h.weekday): (h.start_time, h.end_time) for h in WorkingHours.objects.filter(staff__in=staff)}
    tz = location.tz
    for slot in slots:
        assert slot.starts_at >= NOW + timedelta(minutes=notice)
        assert slot.ends_at - slot.starts_at == timedelta(minutes=duration)
        assert slot.staff_ids, "a slot is offered only with someone free to serve it"
        wide_start, wide_end = slot.starts_at - timedelta(minutes=before), slot.ends_at + timedelta(minutes=after)
        for staff_id in slot.staff_ids:
            for busy_staff, start, end in busy:
                if busy_staff == staff_id:
                    assert not (wide_start < end and start < wide_end), (slot, start, end)
            local_start, local_end = slot.starts_at.astimezone(tz), slot.ends_at.astimezone(tz)
            opens, closes = hours[(staff_id, local_start.weekday())]
            assert local_start.date() == local_end.date() or local_end.time() == time(0)
            assert opens <= local_start.time() and local_end.time() <= closes
            assert time(opening[0]) <= local_start.time() and local_end.time() <= time(opening[1])
