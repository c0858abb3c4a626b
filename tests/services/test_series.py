"""Recurring series: RFC 5545 rules expanded in local wall-clock time, booked all or nothing."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookings.models import Booking, BookingEvent, RecurringSeries, WebhookEvent
from bookings.services.actors import SYSTEM
from bookings.services.series import RecurrenceRule, series_cancel, series_create, series_occurrences
from organizations.errors import Conflict, InvalidInput, Unprocessable
from organizations.models import Service
from tests.factories import future_day, make_customer, make_location, make_org, make_service

BERLIN = ZoneInfo("Europe/Berlin")


def test_weekly_rule_keeps_18_00_in_berlin_when_summer_time_ends():
    # 25 October 2026 is the last Sunday of October: Berlin goes from UTC+2 to UTC+1.
    starts_at = datetime(2026, 10, 12, 18, tzinfo=BERLIN)  # a Monday
    rule = RecurrenceRule(frequency="WEEKLY", weekdays=("MO", "TH"), until=datetime(2026, 11, 5, 23, tzinfo=BERLIN))
    starts = series_occurrences(rule=rule, starts_at=starts_at, tz=BERLIN, limit=366)
    assert [s.astimezone(BERLIN).strftime("%a %d %H:%M") for s in starts] == [
        "Mon 12 18:00", "Thu 15 18:00", "Mon 19 18:00", "Thu 22 18:00",
        "Mon 26 18:00", "Thu 29 18:00", "Mon 02 18:00", "Thu 05 18:00",
    ]  # fmt: skip
    assert {s.astimezone(UTC).hour for s in starts[:4]} == {16}
    assert {s.astimezone(UTC).hour for s in starts[4:]} == {17}


def test_interval_monthly_and_yearly_rules():
    tz = ZoneInfo("America/New_York")
    start = datetime(2027, 1, 31, 9, tzinfo=tz)
    every_other_day = RecurrenceRule(frequency="DAILY", interval=2, until=start + timedelta(days=6))
    assert len(series_occurrences(rule=every_other_day, starts_at=start, tz=tz, limit=10)) == 4
    monthly = RecurrenceRule(frequency="MONTHLY", until=datetime(2027, 6, 30, tzinfo=tz))
    # RFC 5545: months without a 31st are skipped, never moved.
    days = [
        s.astimezone(tz).date().isoformat() for s in series_occurrences(rule=monthly, starts_at=start, tz=tz, limit=10)
    ]
    assert days == ["2027-01-31", "2027-03-31", "2027-05-31"]
    yearly = RecurrenceRule(frequency="YEARLY", until=datetime(2030, 2, 1, tzinfo=tz))
    assert len(series_occurrences(rule=yearly, starts_at=start, tz=tz, limit=10)) == 4


@pytest.mark.parametrize(
    ("rule", "error", "message"),
    [
        (RecurrenceRule(frequency="HOURLY", until=datetime(2027, 2, 1, tzinfo=UTC)), InvalidInput, "frequency"),
        (RecurrenceRule(frequency="WEEKLY", weekdays=("XX",), until=datetime(2027, 2, 1, tzinfo=UTC)), InvalidInput,
         "weekdays"),
        (RecurrenceRule(frequency="DAILY", until=datetime(2026, 12, 1, tzinfo=UTC)), InvalidInput, "until"),
        (RecurrenceRule(frequency="DAILY", until=datetime(2027, 12, 1, tzinfo=UTC)), Unprocessable, "at most 30"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused(rule, error, message):
    with pytest.raises(error, match=message):
        series_occurrences(rule=rule, starts_at=datetime(2027, 1, 1, 9, tzinfo=UTC), tz=UTC, limit=30)


@pytest.fixture
def studio(db):
    org = make_org()
    location = make_location(org, hours=(time(7), time(21)))
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_max=2)
    return org, location, yoga


def weekly(first: datetime, weeks: int) -> RecurrenceRule:
    return RecurrenceRule(frequency="WEEKLY", until=first + timedelta(weeks=weeks - 1, hours=1))


@pytest.mark.django_db
def test_series_books_every_customer_into_every_occurrence_with_audit_and_events(studio):
    org, location, yoga = studio
    first = datetime.combine(future_day(weekday=1), time(18), ZoneInfo(org.timezone))
    customers = [make_customer(org), make_customer(org)]
    series = series_create(service=yoga, location=location, starts_at=first, rule=weekly(first, 4),
                           customers=customers, actor=SYSTEM)  # fmt: skip
    sessions = list(series.bookings.order_by("starts_at"))
    assert len(sessions) == 4 and all(s.party_size == 2 for s in sessions)
    assert series.dtstart_local.replace(tzinfo=None) == first.replace(tzinfo=None)
    assert BookingEvent.objects.filter(booking__series=series, action="created").count() == 4
    assert WebhookEvent.objects.filter(type="participant.joined").count() == 8


@pytest.mark.django_db
def test_full_occurrences_are_all_listed_and_nothing_is_kept(studio):
    org, location, yoga = studio
    first = datetime.combine(future_day(weekday=1), time(18), ZoneInfo(org.timezone))
    rule = weekly(first, 4)
    full = [first + timedelta(weeks=1), first + timedelta(weeks=3)]
    for starts_at in full:
        series_create(service=yoga, location=location, starts_at=starts_at, customers=[make_customer(org),
                      make_customer(org)], actor=SYSTEM, rule=RecurrenceRule(frequency="DAILY", until=starts_at))  # fmt: skip
    before = (Booking.objects.count(), RecurringSeries.objects.count(), WebhookEvent.objects.count())

    with pytest.raises(Conflict) as caught:
        series_create(service=yoga, location=location, starts_at=first, rule=rule, customers=[make_customer(org)],
                      actor=SYSTEM)  # fmt: skip
    assert caught.value.extra["conflicts"] == [s.astimezone(UTC).isoformat().replace("+00:00", "Z") for s in full]
    assert (Booking.objects.count(), RecurringSeries.objects.count(), WebhookEvent.objects.count()) == before


@pytest.mark.django_db
def test_an_occurrence_outside_service_hours_refuses_the_series(studio):
    org, location, yoga = studio
    first = datetime.combine(future_day(weekday=1), time(20, 30), ZoneInfo(org.timezone))  # ends after 21:00
    with pytest.raises(Unprocessable, match="Occurrence"):
        series_create(service=yoga, location=location, starts_at=first, rule=weekly(first, 2),
                      customers=[make_customer(org)], actor=SYSTEM)  # fmt: skip
    assert not RecurringSeries.objects.exists()


@pytest.mark.django_db
def test_cancel_from_an_occurrence_keeps_the_earlier_ones_and_is_audited(studio):
    org, location, yoga = studio
    first = datetime.combine(future_day(weekday=3), time(8), ZoneInfo(org.timezone))
    series = series_create(service=yoga, location=location, starts_at=first, rule=weekly(first, 5),
                           customers=[make_customer(org)], actor=SYSTEM)  # fmt: skip
    sessions = list(series.bookings.order_by("starts_at"))
    series = series_cancel(series=series, from_booking=sessions[2], actor=SYSTEM, reason="Teacher moves away")
    assert [b.status for b in series.bookings.order_by("starts_at")] == ["confirmed"] * 2 + ["cancelled"] * 3
    assert series.until < sessions[2].starts_at and series.cancelled_at is None
    cancelled = Booking.objects.get(pk=sessions[4].pk)
    assert cancelled.cancellation_reason == "Teacher moves away"
    assert cancelled.events.filter(action="status_changed", to_value="cancelled").exists()

    series = series_cancel(series=series, actor=SYSTEM)
    assert series.cancelled_at is not None
    assert set(series.bookings.values_list("status", flat=True)) == {"cancelled"}
    assert series_cancel(series=series, actor=SYSTEM).cancelled_at is not None  # again: nothing changes
