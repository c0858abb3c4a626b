"""Figures per staff member and per week at one location: utilisation, bookings, cancellations,
no-shows and deposits. Five queries whatever the number of staff or weeks.

Bookable minutes follow the engine's rules (bookings/availability.py): a staff member's own weekly
hours or date overrides, else the location's, intersected with the location's when both have
some, in the location's local time (so a 09:00 opening is 09:00 on both sides of a DST change),
minus the time off of the staff member and of the location. Booked minutes are those of the
bookings that kept the time (every status but cancelled, no-shows included). Weeks run Monday to
Sunday in local time; a booking counts in the week of its local start.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q

from bookings.availability import _aware, _intersect, _local_windows
from bookings.models import Booking, BookingStatus
from organizations.models import DateOverride, Location, StaffMember, TimeOff, WorkingHours

Interval = tuple[datetime, datetime]


@dataclass
class WeekFigures:
    week: date  # its Monday
    bookable_minutes: int = 0
    booked_minutes: int = 0
    bookings: int = 0  # not cancelled
    cancellations: int = 0
    no_shows: int = 0
    deposits_minor: int = 0  # deposits paid, of the week's bookings

    @property
    def utilisation(self) -> float | None:
        """Booked minutes over bookable minutes; None when nothing was bookable."""
        return self.booked_minutes / self.bookable_minutes if self.bookable_minutes else None

    @property
    def no_show_rate(self) -> float | None:
        """No-shows over the week's (not cancelled) bookings; None without bookings."""
        return self.no_shows / self.bookings if self.bookings else None


@dataclass
class StaffFigures:
    staff_id: int | None  # None: bookings made without a staff member (the location's own)
    name: str
    weeks: list[WeekFigures] = field(default_factory=list)


def _owner(staff_id: int | None, location_id: int | None) -> tuple[str, int]:
    if staff_id:
        return ("staff", staff_id)
    assert location_id is not None  # a schedule row has exactly one owner (a check constraint)
    return ("location", location_id)


def _local_day(moment: datetime, location: Location) -> date:
    return moment.astimezone(location.tz).date()


def _minutes_outside(windows: list[Interval], blocked: list[Interval]) -> int:
    """Minutes of `windows` not covered by `blocked`."""
    total = 0.0
    for start, end in windows:
        pieces = [(start, end)]
        for b_start, b_end in blocked:
            next_pieces = []
            for p_start, p_end in pieces:
                if b_end <= p_start or b_start >= p_end:
                    next_pieces.append((p_start, p_end))
                    continue
                if b_start > p_start:
                    next_pieces.append((p_start, b_start))
                if b_end < p_end:
                    next_pieces.append((b_end, p_end))
            pieces = next_pieces
        total += sum((p_end - p_start).total_seconds() for p_start, p_end in pieces)
    return int(total // 60)


def staff_week_figures(*, location: Location, first_week: date, weeks: int) -> list[StaffFigures]:
    """The figures of each active staff member of the location's organization (and, when such
    bookings exist or there is no staff, of the location itself), week by week from the Monday
    of `first_week`."""
    first_week -= timedelta(days=first_week.weekday())
    zone = location.tz
    last_day = first_week + timedelta(days=7 * weeks - 1)
    start = datetime.combine(first_week, time(0), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)

    staff = list(
        StaffMember.objects.filter(organization_id=location.organization_id, active=True)
        .order_by("name", "id")
        .values_list("id", "name")
    )
    staff_ids = [staff_id for staff_id, _name in staff]
    owners = Q(staff_id__in=staff_ids) | Q(location_id=location.pk)

    rules: dict[tuple[str, int], list[tuple[int, time, time]]] = defaultdict(list)
    for staff_id, location_id, weekday, opens, closes in WorkingHours.objects.filter(owners).values_list(
        "staff_id", "location_id", "weekday", "start_time", "end_time"
    ):
        rules[_owner(staff_id, location_id)].append((weekday, opens, closes))
    overrides: dict[tuple[str, int], dict[date, list[tuple[time | None, time | None]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for staff_id, location_id, on, opens_at, closes_at in DateOverride.objects.filter(
        owners, date__gte=first_week, date__lte=last_day
    ).values_list("staff_id", "location_id", "date", "start_time", "end_time"):
        overrides[_owner(staff_id, location_id)][on].append((opens_at, closes_at))
    time_off: dict[tuple[str, int], list[Interval]] = defaultdict(list)
    for staff_id, location_id, off_from, off_until in TimeOff.objects.filter(
        owners, starts_at__lt=end, ends_at__gt=start
    ).values_list("staff_id", "location_id", "starts_at", "ends_at"):
        time_off[_owner(staff_id, location_id)].append((off_from, off_until))
    bookings = list(
        Booking.objects.filter(location=location, starts_at__gte=start, starts_at__lt=end)
        .order_by()
        .values_list("staff_id", "starts_at", "ends_at", "status", "deposit_minor", "payment_status")
    )

    rows = [StaffFigures(staff_id, name) for staff_id, name in staff]
    if not rows or any(row[0] is None for row in bookings):
        rows.append(StaffFigures(None, f"{location.name} (no staff member)"))
    loc_owner = ("location", location.pk)
    for row in rows:
        by_week = {
            first_week + timedelta(days=7 * i): WeekFigures(first_week + timedelta(days=7 * i)) for i in range(weeks)
        }
        row.weeks = list(by_week.values())
        owner = ("staff", row.staff_id) if row.staff_id is not None else loc_owner
        blocked = time_off.get(loc_owner, []) + (time_off.get(owner, []) if owner != loc_owner else [])
        day = first_week
        while day <= last_day:
            loc_windows = _local_windows(rules.get(loc_owner, []), overrides.get(loc_owner, {}), day)
            if owner == loc_owner:
                windows = loc_windows or []
            else:
                own = _local_windows(rules.get(owner, []), overrides.get(owner, {}), day)
                if own is None:  # no rules of their own: the location's hours
                    windows = loc_windows or []
                elif loc_windows is None:
                    windows = own
                else:
                    windows = _intersect(own, loc_windows)
            instants = []
            for w_start, w_end in windows:
                a = _aware(day, w_start, zone) or datetime.combine(day, w_start, tzinfo=zone).astimezone(UTC)
                b = _aware(day, w_end, zone) or datetime.combine(day, w_end, tzinfo=zone).astimezone(UTC)
                if b > a:
                    instants.append((a, b))
            by_week[day - timedelta(days=day.weekday())].bookable_minutes += _minutes_outside(instants, blocked)
            day += timedelta(days=1)
        for staff_id, booked_from, booked_until, status, deposit, payment_status in bookings:
            if staff_id != row.staff_id:
                continue
            day = _local_day(booked_from, location)
            figures = by_week[day - timedelta(days=day.weekday())]
            if payment_status == Booking.PaymentStatus.PAID:
                figures.deposits_minor += deposit
            if status == BookingStatus.CANCELLED:
                figures.cancellations += 1
                continue
            figures.bookings += 1
            figures.booked_minutes += int((booked_until - booked_from).total_seconds() // 60)
            if status == BookingStatus.NO_SHOW:
                figures.no_shows += 1
    return rows
