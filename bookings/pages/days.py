"""The day picker of the booking and reschedule pages: two weeks of days, those with free slots
marked, the chosen day's slots by part of the day, and "next available" when the day has none."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bookings.availability import Slot
from bookings.pages.common import local_day_bounds, part_of_day, slots_by_local_day, today_in

DAYS_SHOWN = 14
# How far past the two weeks shown "next available" looks (in windows of a month, one engine call each).
NEXT_AVAILABLE_WINDOW = timedelta(days=31)
NEXT_AVAILABLE_WINDOWS = 3

SlotFinder = Callable[[datetime, datetime], list[Slot]]


@dataclass
class Day:
    day: date
    has_slots: bool
    selected: bool


@dataclass
class DayPicker:
    zone: str
    selected: date
    days: list[Day]
    groups: dict[str, list[Slot]]
    next_available: date | None = None
    earlier: date | None = None  # first day of the previous two weeks, if any
    later: date | None = None  # first day of the next two weeks, if bookable
    slot_count: int = 0
    all_slots: list[Slot] = field(default_factory=list)


def parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def day_picker(*, find: SlotFinder, zone: str, asked: date | None, last_day: date) -> DayPicker:
    """Build the picker for the day asked (default: the first day with a free slot, else today)."""
    today = today_in(zone)
    if asked is not None and (asked < today or asked > last_day):
        asked = None
    anchor = asked or today
    first = today + timedelta(days=((anchor - today).days // DAYS_SHOWN) * DAYS_SHOWN)
    last = min(first + timedelta(days=DAYS_SHOWN - 1), last_day)
    window_start, _ = local_day_bounds(first, zone)
    _, window_end = local_day_bounds(last, zone)
    slots = find(window_start, window_end)
    by_day = slots_by_local_day(slots, zone)
    selected = asked or (min(by_day) if by_day else first)
    day_slots = by_day.get(selected, [])
    next_available = None
    if not day_slots:
        later_days = sorted(d for d in by_day if d > selected)
        next_available = later_days[0] if later_days else _search_after(find, zone, window_end, last_day)
    days = []
    current = first
    while current <= last:
        days.append(Day(day=current, has_slots=current in by_day, selected=current == selected))
        current += timedelta(days=1)
    earlier = first - timedelta(days=DAYS_SHOWN) if first > today else None
    following = first + timedelta(days=DAYS_SHOWN)
    return DayPicker(
        zone=zone,
        selected=selected,
        days=days,
        groups=part_of_day(day_slots, zone),
        next_available=next_available,
        earlier=earlier,
        later=following if following <= last_day else None,
        slot_count=len(day_slots),
        all_slots=day_slots,
    )


def _search_after(find: SlotFinder, zone: str, start: datetime, last_day: date) -> date | None:
    """The first local day after `start` with a free slot, looking a few months ahead at most."""
    _, limit = local_day_bounds(last_day, zone)
    for _window in range(NEXT_AVAILABLE_WINDOWS):
        if start >= limit:
            return None
        end = min(start + NEXT_AVAILABLE_WINDOW, limit)
        found = find(start, end)
        if found:
            return min(slots_by_local_day(found[:1], zone))
        start = end
    return None
