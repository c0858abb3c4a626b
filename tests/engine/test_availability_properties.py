"""Property-based tests: whatever the schedule, bookings and holds, the engine offers exactly the free slots
that a brute force over the rules finds (every offered slot is free, and every free slot is offered)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookings.availability import find_slots
from bookings.models import ACTIVE_STATUSES
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
    opening=st.tuples(st.integers(min_value=0, max_value=11), st.integers(min_value=14, max_value=22)),
)
def test_the_engine_offers_exactly_the_free_slots(specs, duration, interval, before, after, notice, opening):
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
    window = (window_start, window_start + timedelta(days=4))
    busy = []  # (staff id, blocked start, blocked end) of the active bookings and unexpired holds written
    for quarter, who, status, is_hold, expiry in specs:
        starts_at = window_start + timedelta(minutes=15 * quarter)
        target = service if quarter % 2 else other
        blocked = (
            staff[who].pk,
            starts_at - timedelta(minutes=target.buffer_before_minutes),
            starts_at + timedelta(minutes=target.duration_minutes + target.buffer_after_minutes),
        )
        if is_hold:
            make_hold(target, location, starts_at, staff=staff[who], expires_at=NOW + timedelta(minutes=expiry))
            if expiry > 0:
                busy.append(blocked)
        else:
            try:
                with transaction.atomic():
                    make_booking(target, location, starts_at, staff=staff[who], status=status)
            except IntegrityError:
                continue  # PostgreSQL refuses an overlapping active booking: that is the guarantee
            if status in ACTIVE_STATUSES:
                busy.append(blocked)

    slots = find_slots(service, *window, now=NOW)

    for slot in slots:
        assert slot.ends_at - slot.starts_at == timedelta(minutes=duration)
        assert slot.location_id == location.pk
        assert slot.staff_ids, "a slot is offered only with someone free to serve it"
    assert len({slot.starts_at for slot in slots}) == len(slots), "each start is offered once"
    assert [slot.starts_at for slot in slots] == sorted(slot.starts_at for slot in slots)
    offered = {(slot.starts_at, staff_id) for slot in slots for staff_id in slot.staff_ids}
    expected = expected_offers(
        staff_hours=[(time(opening[0] + i), time(opening[1])) for i in range(3)],
        location_hours=(time(opening[0]), time(opening[1])),
        staff_ids=[member.pk for member in staff],
        duration=timedelta(minutes=duration),
        step=timedelta(minutes=interval or duration),
        before=timedelta(minutes=before),
        after=timedelta(minutes=after),
        earliest=max(window[0], NOW + timedelta(minutes=notice)),
        latest=min(window[1], NOW + timedelta(days=org.max_advance_days, microseconds=1)),
        busy=busy,
        tz=ZoneInfo(TZ),
    )
    assert offered == expected, (sorted(offered - expected)[:5], sorted(expected - offered)[:5])


def _in_gap(day: date, at: time, tz: ZoneInfo) -> bool:
    """Whether this local time does not exist (skipped by a spring-forward change): PEP 495 gives a
    time in a gap an earlier offset with fold=0 than with fold=1 (an ambiguous time the reverse)."""
    first, second = (datetime.combine(day, at, tzinfo=tz).replace(fold=fold).utcoffset() for fold in (0, 1))
    assert first is not None and second is not None  # an aware time has an offset
    return first < second


def expected_offers(
    *, staff_hours, location_hours, staff_ids, duration, step, before, after, earliest, latest, busy, tz
) -> set[tuple[datetime, int]]:
    """Every (start, staff id) the engine must offer, found by brute force from the rules: each start
    on a grid from the opening of the staff member's hours within the location's (local, every
    `step`), ending by their closing, in [earliest, latest), not in a DST gap (an ambiguous local
    time counts once, at its first occurrence), whose buffer-widened interval overlaps none of the
    staff member's busy intervals."""
    expected = set()
    for staff_id, (staff_opens, staff_closes) in zip(staff_ids, staff_hours, strict=True):
        opens, closes = max(staff_opens, location_hours[0]), min(staff_closes, location_hours[1])
        day = earliest.astimezone(tz).date() - timedelta(days=1)
        while day <= latest.astimezone(tz).date() + timedelta(days=1):
            closing = datetime.combine(day, closes, tzinfo=tz).astimezone(UTC)
            local = datetime.combine(day, opens)
            while local < datetime.combine(day, closes):
                start = local.replace(tzinfo=tz).astimezone(UTC)
                wide = (start - before, start + duration + after)
                if (
                    not _in_gap(day, local.time(), tz)
                    and start + duration <= closing
                    and earliest <= start < latest
                    and not any(who == staff_id and s < wide[1] and e > wide[0] for who, s, e in busy)
                ):
                    expected.add((start, staff_id))
                local += step
            day += timedelta(days=1)
    return expected
