"""The engine's SQL reads return exactly what the equivalent ORM queries return, alone and in the
one statement that runs all six, choosing the staff of five of them itself (bookings/schedule_reads.py)."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Q, Value
from django.test.utils import CaptureQueriesContext

from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus
from bookings.schedule_reads import (
    ScheduleRows,
    booking_rows,
    date_override_rows,
    hold_rows,
    schedule_rows,
    staff_rows,
    time_off_rows,
    working_hours_rows,
)
from holds.models import Hold
from organizations.models import DateOverride, Service, StaffMember, Team, TimeOff, WorkingHours
from tests.factories import (
    future_day,
    local_dt,
    make_booking,
    make_hold,
    make_location,
    make_org,
    make_service,
    make_staff,
)

pytestmark = pytest.mark.django_db
NY = "America/New_York"


@pytest.fixture
def world():
    """Two staff (one inactive, one in a team), a location, a class and an appointment service, and
    rows of every kind inside and outside the window."""
    org = make_org()
    location = make_location(org)
    alex, blair = make_staff(org), make_staff(org)
    gone = make_staff(org, active=False)
    team = Team.objects.create(organization=org, name="Team")
    team.members.set([blair])
    cut = make_service(org, locations=[location], staff=[alex, blair, gone])
    plain = make_service(org, locations=[location])  # no staff: the location serves it
    yoga = make_service(org, locations=[location], staff=[alex], kind=Service.Kind.GROUP)
    day = future_day(weekday=2)
    DateOverride.objects.create(organization=org, staff=alex, date=day, start_time=time(10), end_time=time(12))
    DateOverride.objects.create(organization=org, location=location, date=day + timedelta(days=1))
    DateOverride.objects.create(organization=org, location=location, date=day + timedelta(days=9))
    TimeOff.objects.create(
        organization=org, staff=blair, starts_at=local_dt(NY, day, 13), ends_at=local_dt(NY, day, 14)
    )
    TimeOff.objects.create(
        organization=org, location=location, starts_at=local_dt(NY, day, 16), ends_at=local_dt(NY, day, 17)
    )
    kept = make_booking(cut, location, local_dt(NY, day, 9), staff=alex, status=BookingStatus.CONFIRMED)
    make_booking(cut, location, local_dt(NY, day, 11), staff=blair, status=BookingStatus.CANCELLED)
    make_booking(cut, location, local_dt(NY, day, 12), status=BookingStatus.PENDING)  # the location's own
    make_booking(yoga, location, local_dt(NY, day, 15), staff=alex, is_group=True, status=BookingStatus.CONFIRMED)
    make_booking(cut, location, local_dt(NY, day + timedelta(days=20), 9), staff=alex)
    soon = datetime.now(UTC) + timedelta(minutes=10)
    held = make_hold(cut, location, local_dt(NY, day, 10), staff=blair, expires_at=soon)
    make_hold(yoga, location, local_dt(NY, day, 15), expires_at=soon)
    make_hold(cut, location, local_dt(NY, day, 14), staff=alex, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    lo, hi = local_dt(NY, day, 0) - timedelta(hours=2), local_dt(NY, day, 23) + timedelta(hours=2)
    return {
        "cut": cut, "plain": plain, "team": team, "staff": [alex.pk, blair.pk], "locations": [location.pk],
        "day": day, "lo": lo, "hi": hi, "kept": kept, "held": held, "alex": alex, "blair": blair, "gone": gone,
    }  # fmt: skip


def owners(staff_ids, location_ids):
    return Q(staff_id__in=staff_ids) | Q(location_id__in=location_ids)


@pytest.mark.parametrize("with_team", [False, True])
def test_staff(world, with_team):
    team = world["team"] if with_team else None
    qs = StaffMember.objects.filter(services=world["cut"], active=True).order_by("id")
    if team is not None:
        in_team = Exists(Team.members.through.objects.filter(team_id=team.pk, staffmember_id=OuterRef("pk")))
    else:
        in_team = Value(True)
    expected = list(qs.annotate(in_team=in_team).values_list("id", "uuid", "in_team"))
    assert staff_rows(world["cut"], team) == expected
    assert len(expected) == 2


@pytest.mark.parametrize("which", ["both", "staff only", "locations only", "none"])
def test_hours_overrides_time_off(world, which):
    staff_ids = world["staff"] if which in ("both", "staff only") else []
    location_ids = world["locations"] if which in ("both", "locations only") else []
    who = owners(staff_ids, location_ids)
    first, last = world["day"] - timedelta(days=1), world["day"] + timedelta(days=1)

    hours = WorkingHours.objects.filter(who).values_list("staff_id", "location_id", "weekday", "start_time", "end_time")
    assert sorted(working_hours_rows(staff_ids, location_ids), key=repr) == sorted(hours, key=repr)

    overrides = DateOverride.objects.filter(who, date__gte=first, date__lte=last)
    expected = overrides.values_list("staff_id", "location_id", "date", "start_time", "end_time")
    assert sorted(date_override_rows(staff_ids, location_ids, first, last), key=repr) == sorted(expected, key=repr)

    time_off = TimeOff.objects.filter(who, starts_at__lt=world["hi"], ends_at__gt=world["lo"])
    expected = time_off.values_list("staff_id", "location_id", "starts_at", "ends_at")
    got = time_off_rows(staff_ids, location_ids, world["lo"], world["hi"])
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    if which == "both":
        assert len(hours) == 21 and len(overrides) == 2 and len(time_off) == 2


@pytest.mark.parametrize("ignore", [False, True])
def test_bookings_and_holds(world, ignore):
    staff_ids, location_ids, lo, hi = world["staff"], world["locations"], world["lo"], world["hi"]
    resource = Q(staff_id__in=staff_ids) | Q(location_id__in=location_ids, staff__isnull=True, is_group=False)
    bookings = Booking.objects.filter(resource, status__in=ACTIVE_STATUSES, blocked_start__lt=hi, blocked_end__gt=lo)
    holds = Hold.objects.filter(
        owners(staff_ids, location_ids),
        status=Hold.Status.ACTIVE,
        expires_at__gt=datetime.now(UTC),
        blocked_start__lt=hi,
        blocked_end__gt=lo,
    )
    ignore_booking = world["kept"].pk if ignore else None
    ignore_hold = world["held"].pk if ignore else None
    if ignore:
        bookings, holds = bookings.exclude(pk=ignore_booking), holds.exclude(pk=ignore_hold)
    expected = bookings.values_list("staff_id", "location_id", "blocked_start", "blocked_end", "is_group", "service_id")
    got = booking_rows(staff_ids, location_ids, lo, hi, ignore_booking)
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert len(got) == (2 if ignore else 3)

    fields = ("staff_id", "location_id", "service_id", "service__kind", "starts_at", "blocked_start", "blocked_end")
    expected = holds.values_list(*fields, "party_size")
    got = hold_rows(staff_ids, location_ids, datetime.now(UTC), lo, hi, ignore_hold)
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert len(got) == (1 if ignore else 2)


# Whose schedule the union reads: (service, with the team?, host), and the staff it should choose.
CHOICES = {
    "everyone": ("cut", False, None, ["alex", "blair"]),
    "a host": ("cut", False, "alex", ["alex"]),
    "a team": ("cut", True, None, ["blair"]),
    "a team and its member": ("cut", True, "blair", ["blair"]),
    "a team and an outsider": ("cut", True, "alex", []),
    "an inactive host": ("cut", False, "gone", []),
    "a service without staff": ("plain", False, None, []),
}


@pytest.mark.parametrize("who", list(CHOICES))
@pytest.mark.parametrize("with_locations", [True, False])
@pytest.mark.parametrize("ignore", [False, True])
def test_schedule_rows_are_the_six_reads(world, who, with_locations, ignore, django_assert_num_queries):
    service_key, with_team, host_key, chosen = CHOICES[who]
    service, team = world[service_key], world["team"] if with_team else None
    team_id, host_id = team.pk if team else None, world[host_key].pk if host_key else None
    location_ids = world["locations"] if with_locations else []
    first, last = world["day"] - timedelta(days=1), world["day"] + timedelta(days=1)
    lo, hi, now = world["lo"], world["hi"], datetime.now(UTC)
    ignore_booking = world["kept"].pk if ignore else None
    ignore_hold = world["held"].pk if ignore else None
    with django_assert_num_queries(1):
        got = schedule_rows(
            service.pk, team_id, host_id, location_ids, first, last, lo, hi, now, ignore_booking, ignore_hold
        )
    staff = staff_rows(service, team)
    # The staff the statement reads the schedule of: those the engine used to choose from `staff`.
    staff_ids = [staff_id for staff_id, _uuid, in_team in staff if in_team and host_id in (None, staff_id)]
    assert staff_ids == [world[name].pk for name in chosen]
    expected = ScheduleRows(
        staff,
        working_hours_rows(staff_ids, location_ids),
        date_override_rows(staff_ids, location_ids, first, last),
        time_off_rows(staff_ids, location_ids, lo, hi),
        booking_rows(staff_ids, location_ids, lo, hi, ignore_booking),
        hold_rows(staff_ids, location_ids, now, lo, hi, ignore_hold),
    )
    assert got.staff == expected.staff  # in order, by id
    for name in ScheduleRows._fields:  # repr: the same values of the same types (True, not 1; times, not text)
        assert sorted(map(repr, getattr(got, name))) == sorted(map(repr, getattr(expected, name))), name
    counts = [len(rows) for rows in got]
    if who == "everyone" and with_locations:  # every branch has rows: the kept booking and the held seat are ignored
        assert counts == ([2, 21, 2, 2, 2, 1] if ignore else [2, 21, 2, 2, 3, 2])
    if who == "a service without staff":  # the location's rows (its holds include the staff's held seat)
        assert counts == ([0, 7, 1, 1, 1, 1 if ignore else 2] if with_locations else [0, 0, 0, 0, 0, 0])


@pytest.mark.postgres
@pytest.mark.parametrize("host", [False, True])
def test_the_staff_subquery_runs_once_on_postgresql(world, host):
    """On PostgreSQL the five reads take their staff as an array computed once (an InitPlan), which an
    index can use: `IN (subquery)` under an OR would be a SubPlan filtering a sequential scan of every
    organization's bookings (see `_staff_in`)."""
    first, last = world["day"] - timedelta(days=1), world["day"] + timedelta(days=1)
    host_id = world["alex"].pk if host else None
    with CaptureQueriesContext(connection) as captured:
        schedule_rows(world["cut"].pk, None, host_id, world["locations"], first, last, world["lo"], world["hi"],
                      datetime.now(UTC), None, None)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # an index if there is one, however small the table
        cursor.execute("EXPLAIN " + captured.captured_queries[0]["sql"])
        lines = [row[0].strip() for row in cursor.fetchall()]
    plan = "\n".join(lines)
    assert sum(line.startswith("InitPlan") for line in lines) == 5 and "SubPlan" not in plan, plan
    assert "Seq Scan on bookings_booking" not in plan, plan


def test_text_datetimes_with_microseconds_read_back_exactly(world):
    """SQLite keeps datetimes as text, which the reads parse themselves: a booking and a time off at
    odd instants (seconds, microseconds) read back as the same aware datetimes as through the ORM."""
    odd = world["lo"] + timedelta(hours=3, minutes=7, seconds=5, microseconds=123_456)
    booking = make_booking(world["cut"], world["kept"].location, odd, staff=world["alex"])
    TimeOff.objects.create(
        organization=booking.organization, staff=world["alex"], starts_at=odd, ends_at=odd + timedelta(seconds=1)
    )
    first, last = world["day"] - timedelta(days=1), world["day"] + timedelta(days=1)
    lo, hi, now = world["lo"], world["hi"], datetime.now(UTC)
    got = schedule_rows(world["cut"].pk, None, None, world["locations"], first, last, lo, hi, now, None, None)
    booked = Booking.objects.filter(pk=booking.pk).values_list("blocked_start", "blocked_end").get()
    assert booked[0] == odd and booked[0].tzinfo is not None
    assert [row[2:4] for row in got.bookings if row[2] == odd] == [booked]
    assert [row[2:4] for row in got.time_off if row[2] == odd] == [(odd, odd + timedelta(seconds=1))]
