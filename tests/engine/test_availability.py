"""The availability engine: working hours, overrides, time off, buffers, policy, holds, group seats, DST."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bookings.availability import find_slots, slot_check
from bookings.models import Booking, Participant
from organizations.errors import Conflict, Unprocessable
from organizations.models import DateOverride, Service, Team, TimeOff
from tests.factories import (
    add_hours,
    local_dt,
    make_booking,
    make_customer,
    make_hold,
    make_location,
    make_org,
    make_service,
    make_staff,
)

pytestmark = pytest.mark.django_db
TZ = "America/New_York"
DAY = date(2027, 6, 15)  # a Tuesday
NOW = datetime(2027, 6, 1, tzinfo=UTC)


def day_window(day: date, tz: str = TZ):
    return local_dt(tz, day, 0), local_dt(tz, day + timedelta(days=1), 0)


def starts(slots, tz: str = TZ) -> list[str]:
    from zoneinfo import ZoneInfo

    return [s.starts_at.astimezone(ZoneInfo(tz)).strftime("%H:%M") for s in slots]


@pytest.fixture
def salon():
    org = make_org(timezone=TZ)
    location = make_location(org, hours=(time(9), time(18)))
    alex = make_staff(org, hours=(time(9), time(12)))
    sam = make_staff(org, hours=(time(11), time(17)))
    haircut = make_service(org, locations=[location], staff=[alex, sam], slot_interval_minutes=30)
    return org, location, alex, sam, haircut


def test_slots_lie_in_staff_hours_intersected_with_the_location(salon):
    org, location, alex, sam, haircut = salon
    slots = find_slots(haircut, *day_window(DAY), now=NOW)
    assert starts(slots) == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30",
        "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00",
    ]  # fmt: skip
    by_start = dict(zip(starts(slots), slots, strict=True))
    assert by_start["09:00"].staff_ids == (alex.id,)
    assert by_start["11:00"].staff_ids == (alex.id, sam.id)  # offered once, with both free staff
    assert by_start["16:00"].staff_ids == (sam.id,)
    assert all(s.ends_at - s.starts_at == timedelta(minutes=60) for s in slots)
    assert all(s.capacity is None for s in slots)


def test_location_hours_narrow_staff_hours(salon):
    org, location, alex, sam, haircut = salon
    DateOverride.objects.create(organization=org, location=location, date=DAY, start_time=time(10), end_time=time(12))
    assert starts(find_slots(haircut, *day_window(DAY), now=NOW)) == ["10:00", "10:30", "11:00"]


def test_closed_date_override_and_extra_hours(salon):
    org, location, alex, sam, haircut = salon
    DateOverride.objects.create(organization=org, location=location, date=DAY)  # closed
    assert find_slots(haircut, *day_window(DAY), now=NOW) == []
    sunday = DAY + timedelta(days=5)
    DateOverride.objects.create(organization=org, staff=alex, date=sunday, start_time=time(7), end_time=time(9))
    DateOverride.objects.create(organization=org, location=location, date=sunday, start_time=time(7), end_time=time(9))
    slots = find_slots(haircut, *day_window(sunday), now=NOW)
    assert starts(slots) == ["07:00", "07:30", "08:00"]
    assert {s.staff_ids for s in slots} == {(alex.id,)}  # Sam has no hours that day


def test_time_off_blocks_only_its_owner(salon):
    org, location, alex, sam, haircut = salon
    TimeOff.objects.create(organization=org, staff=sam, starts_at=local_dt(TZ, DAY, 11), ends_at=local_dt(TZ, DAY, 17))
    slots = find_slots(haircut, *day_window(DAY), now=NOW)
    assert starts(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert all(s.staff_ids == (alex.id,) for s in slots)


def test_bookings_of_any_service_and_buffers_block_the_staff_member(salon):
    org, location, alex, sam, haircut = salon
    other = make_service(org, locations=[location], staff=[alex], buffer_after_minutes=30)
    make_booking(other, location, local_dt(TZ, DAY, 9), staff=alex)  # blocks Alex 09:00-10:30
    found = find_slots(haircut, *day_window(DAY), now=NOW)
    slots = dict(zip(starts(found), found, strict=True))
    assert "09:00" not in slots and "10:00" not in slots
    assert slots["10:30"].staff_ids == (alex.id,)


def test_the_new_slots_buffer_may_not_overlap_an_existing_booking(salon):
    org, location, alex, sam, haircut = salon
    haircut.buffer_before_minutes = 15
    haircut.save()
    make_booking(make_service(org), location, local_dt(TZ, DAY, 10), staff=alex)  # 10:00-11:00, no buffers
    alex_starts = starts(find_slots(haircut, *day_window(DAY), staff=alex, now=NOW))
    # 09:00 ends at 10:00 (adjacent: fine); 11:00 needs 10:45-12:00 blocked: overlaps.
    assert alex_starts == ["09:00"]


def test_cancelled_bookings_free_the_slot(salon):
    org, location, alex, sam, haircut = salon
    make_booking(haircut, location, local_dt(TZ, DAY, 9), staff=alex, status=Booking.Status.CANCELLED)
    assert starts(find_slots(haircut, *day_window(DAY), staff=alex, now=NOW))[0] == "09:00"


def test_minimum_notice_and_maximum_advance(salon):
    org, location, alex, sam, haircut = salon
    org.min_notice_minutes = 120
    org.max_advance_days = 10
    org.save()
    now = local_dt(TZ, DAY, 9, 15)
    assert starts(find_slots(haircut, *day_window(DAY), now=now))[0] == "11:30"
    assert find_slots(haircut, *day_window(DAY + timedelta(days=11)), now=now) == []
    with pytest.raises(Unprocessable, match="too soon"):
        slot_check(haircut, local_dt(TZ, DAY, 10), location=location, now=now)
    with pytest.raises(Unprocessable, match="too far ahead"):
        slot_check(haircut, local_dt(TZ, DAY + timedelta(days=11), 10), location=location, now=now)


def test_active_holds_block_until_they_expire(salon):
    org, location, alex, sam, haircut = salon
    make_hold(haircut, location, local_dt(TZ, DAY, 9), staff=alex, expires_at=NOW + timedelta(minutes=10))
    assert "09:00" not in starts(find_slots(haircut, *day_window(DAY), now=NOW))
    # The moment it expires it stops blocking, even though nobody marked it expired.
    later = NOW + timedelta(minutes=10)
    assert starts(find_slots(haircut, *day_window(DAY), now=later))[0] == "09:00"


def test_slot_check_tells_not_a_slot_from_taken(salon):
    org, location, alex, sam, haircut = salon
    with pytest.raises(Unprocessable, match="outside service hours"):
        slot_check(haircut, local_dt(TZ, DAY, 8), location=location, now=NOW)
    with pytest.raises(Unprocessable, match="outside service hours"):
        slot_check(haircut, local_dt(TZ, DAY, 9, 10), location=location, now=NOW)  # off the grid
    make_booking(haircut, location, local_dt(TZ, DAY, 9), staff=alex)
    with pytest.raises(Conflict):
        slot_check(haircut, local_dt(TZ, DAY, 9), location=location, now=NOW)
    with pytest.raises(Unprocessable, match="host_id"):
        slot_check(haircut, local_dt(TZ, DAY, 9), location=location, staff=sam, now=NOW)
    slot = slot_check(haircut, local_dt(TZ, DAY, 11), location=location, now=NOW)
    assert slot.staff_ids == (alex.id, sam.id)


def test_team_filter(salon):
    org, location, alex, sam, haircut = salon
    team = Team.objects.create(organization=org, name="Seniors")
    team.members.set([sam])
    slots = find_slots(haircut, *day_window(DAY), team=team, now=NOW)
    assert starts(slots)[0] == "11:00" and all(s.staff_ids == (sam.id,) for s in slots)


def test_service_without_staff_books_the_location():
    org = make_org(timezone=TZ)
    location = make_location(org, hours=(time(9), time(12)))
    room = make_service(org, locations=[location], duration_minutes=60)
    make_booking(make_service(org, locations=[location]), location, local_dt(TZ, DAY, 10))
    assert starts(find_slots(room, *day_window(DAY), now=NOW)) == ["09:00", "11:00"]


def test_group_seats_count_participants_and_held_seats():
    org = make_org(timezone=TZ)
    location = make_location(org, hours=(time(9), time(11)))
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_min=2, capacity_max=12)
    session = make_booking(yoga, location, local_dt(TZ, DAY, 9), is_group=True)
    Participant.objects.create(booking=session, customer=make_customer(org), party_size=5)
    Participant.objects.create(booking=session, customer=make_customer(org), party_size=2, status="left")
    make_hold(yoga, location, local_dt(TZ, DAY, 9), party_size=3, expires_at=NOW + timedelta(minutes=5))
    slots = find_slots(yoga, *day_window(DAY), now=NOW)
    assert [(s, slot.capacity) for s, slot in zip(starts(slots), slots, strict=True)] == [("09:00", 4), ("10:00", 12)]
    assert starts(find_slots(yoga, *day_window(DAY), party_size=5, now=NOW)) == ["10:00"]
    with pytest.raises(Conflict):
        slot_check(yoga, local_dt(TZ, DAY, 9), location=location, party_size=5, now=NOW)
    with pytest.raises(Unprocessable, match="capacity"):
        slot_check(yoga, local_dt(TZ, DAY, 10), location=location, party_size=13, now=NOW)


# --- Daylight saving time --------------------------------------------------------------------

DST_DAYS = {
    # (zone, spring-forward date, fall-back date), all Sundays in 2027
    "America/New_York": (date(2027, 3, 14), date(2027, 11, 7)),
    "Europe/Berlin": (date(2027, 3, 28), date(2027, 10, 31)),
}


@pytest.mark.parametrize("tz", DST_DAYS)
@pytest.mark.parametrize("change", ["spring", "autumn"])
def test_opening_hours_stay_local_across_dst(tz, change):
    day = DST_DAYS[tz][0 if change == "spring" else 1]
    org = make_org(timezone=tz, max_advance_days=3650)
    location = make_location(org, hours=(time(9), time(12)))
    staff = make_staff(org, hours=(time(9), time(12)))
    service = make_service(org, locations=[location], staff=[staff])
    now = datetime(2027, 1, 1, tzinfo=UTC)
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        slots = find_slots(service, *day_window(d, tz), now=now)
        assert starts(slots, tz) == ["09:00", "10:00", "11:00"], d
    before = find_slots(service, *day_window(day - timedelta(days=1), tz), now=now)[0].starts_at
    after = find_slots(service, *day_window(day + timedelta(days=1), tz), now=now)[0].starts_at
    shift = (after - before) - timedelta(days=2)
    assert shift == (timedelta(hours=-1) if change == "spring" else timedelta(hours=1))


@pytest.mark.parametrize("tz", DST_DAYS)
def test_nonexistent_local_times_are_skipped(tz):
    spring = DST_DAYS[tz][0]
    gap_start = 2  # 02:00-02:59 does not exist in either zone that night
    org = make_org(timezone=tz, max_advance_days=3650)
    location = make_location(org, hours=(time(0), time(5)))
    service = make_service(org, locations=[location], duration_minutes=30)
    slots = find_slots(service, *day_window(spring, tz), now=datetime(2027, 1, 1, tzinfo=UTC))
    labels = starts(slots, tz)
    assert f"0{gap_start}:00" not in labels and f"0{gap_start}:30" not in labels
    assert labels[:4] == ["00:00", "00:30", "01:00", "01:30"] and "03:00" in labels
    assert len({s.starts_at for s in slots}) == len(slots)


@pytest.mark.parametrize("tz", DST_DAYS)
def test_ambiguous_local_times_are_not_doubled(tz):
    autumn = DST_DAYS[tz][1]
    org = make_org(timezone=tz, max_advance_days=3650)
    location = make_location(org, hours=(time(0), time(5)))
    service = make_service(org, locations=[location], duration_minutes=30)
    slots = find_slots(service, *day_window(autumn, tz), now=datetime(2027, 1, 1, tzinfo=UTC))
    labels = starts(slots, tz)
    assert len(labels) == len(set(labels)) == 10  # 00:00 .. 04:30, each local time once
    assert len({s.starts_at for s in slots}) == len(slots)


def test_slots_are_returned_in_utc_for_a_window_in_another_zone():
    org = make_org(timezone="Europe/Berlin")
    location = make_location(org, hours=(time(9), time(10)))
    service = make_service(org, locations=[location])
    slot = find_slots(service, *day_window(DAY, "Europe/Berlin"), now=NOW)[0]
    assert slot.starts_at == datetime(2027, 6, 15, 7, 0, tzinfo=UTC) and slot.starts_at.tzinfo == UTC
    add_hours(location, days=[DAY.weekday()], start=time(14), end=time(15))
    assert len(find_slots(service, *day_window(DAY, "Europe/Berlin"), now=NOW)) == 2
