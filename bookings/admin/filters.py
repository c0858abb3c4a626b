"""List filters of bookings in local time: today, this week, upcoming, past, and a date drill-down.

"Today" is a local day in each booking's location zone (falling back to its organization's), so
a 23:30 New York booking is on the New York date, whatever the server's zone.
"""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.utils import timezone

from bookings.admin.tenancy import scope
from bookings.admin.times import local_days_q, week_start, zone_q, zones_of
from organizations.models import Location


def user_zones(request) -> set[str]:
    """The effective zones of the user's locations (one query, kept for the request)."""
    cached = getattr(request, "_workspace_zones", None)
    if cached is None:
        cached = zones_of(scope(Location.objects.all(), request)) or {timezone.get_current_timezone_name()}
        request._workspace_zones = cached
    return cached


def local_today(zone_name: str) -> date:
    return timezone.now().astimezone(ZoneInfo(zone_name)).date()


class WhenFilter(admin.SimpleListFilter):
    title = "when (local time)"
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [("today", "Today"), ("week", "This week"), ("upcoming", "Upcoming"), ("past", "Past")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "upcoming":
            return queryset.filter(starts_at__gte=timezone.now())
        if value == "past":
            return queryset.filter(starts_at__lt=timezone.now())
        if value not in ("today", "week"):
            return queryset
        condition = None
        for name in user_zones(request):
            today = local_today(name)
            first, last = (today, today) if value == "today" else (week_start(today), week_start(today) + timedelta(6))
            part = local_days_q({name}, first, last)
            condition = part if condition is None else condition | part
        return queryset.filter(condition)


def _parse(value: str | None) -> tuple[int, ...] | None:
    """'2026', '2026-03' or '2026-03-10' as numbers; None when it is none of these."""
    if not value:
        return None
    try:
        parts = tuple(int(p) for p in value.split("-"))
        if not 1 <= len(parts) <= 3:
            return None
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return None
    return parts


def _key(parts: tuple[int, ...]) -> str:
    return "-".join(f"{p:02d}" if i else str(p) for i, p in enumerate(parts))


def _range(parts: tuple[int, ...]) -> tuple[date, date]:
    """The first and last local day of a year, month or day."""
    if len(parts) == 3:
        day = date(*parts)
        return day, day
    if len(parts) == 2:
        first = date(parts[0], parts[1], 1)
        return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return date(parts[0], 1, 1), date(parts[0], 12, 31)


class LocalDateFilter(admin.SimpleListFilter):
    """Year, then month, then day, each a local one: the date drill-down, in local time."""

    title = "date (local time)"
    parameter_name = "date"

    def lookups(self, request, model_admin):
        parts = _parse(self.value())
        queryset = model_admin.get_queryset(request)
        kind = {None: "year", 1: "month", 2: "day", 3: "day"}[len(parts) if parts else None]
        if parts:
            queryset = queryset.filter(local_days_q(user_zones(request), *_range(parts[:2])))
        seen: set[date] = set()
        for name in user_zones(request):
            moments = queryset.filter(zone_q(name)).datetimes("starts_at", kind, tzinfo=ZoneInfo(name))
            seen.update(moment.date() for moment in moments)
        choices = []
        if parts and len(parts) > 1:
            choices.append((_key(parts[:-1]), f"‹ {self._label(parts[:-1])}"))
        if parts and len(parts) < 3:
            choices.append((_key(parts), f"All of {self._label(parts)}"))
        keys = {"year": 1, "month": 2, "day": 3}
        for key in sorted({(day.year, day.month, day.day)[: keys[kind]] for day in seen}):
            choices.append((_key(key), self._label(key)))
        return choices

    @staticmethod
    def _label(parts: tuple[int, ...] | None) -> str:
        if not parts:
            return ""
        if len(parts) == 1:
            return str(parts[0])
        if len(parts) == 2:
            return f"{date(parts[0], parts[1], 1):%B %Y}"
        return f"{date(*parts):%a %d %b %Y}"

    def queryset(self, request, queryset):
        parts = _parse(self.value())
        if parts is None:
            return queryset
        return queryset.filter(local_days_q(user_zones(request), *_range(parts)))
