"""Local time in the workspace: shown in the booking's location zone (falling back to the
organization's), with the zone named; typed local; days and weeks are local days and weeks."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from organizations.models import Location

DATE_FORMAT = "%a %d %b %Y"


def location_zone(location: Location) -> ZoneInfo:
    return location.tz


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


UTC_ZONE = ZoneInfo("UTC")


def local_text(moment: datetime | None, zone: ZoneInfo | None) -> str:
    """'Tue 10 Mar 2026 10:00 America/New_York' (UTC, named, when nothing says otherwise)."""
    if moment is None:
        return "-"
    zone = zone or UTC_ZONE
    at = moment.astimezone(zone)
    return f"{at:{DATE_FORMAT} %H:%M} {zone.key}"


def local_span(start: datetime, end: datetime, zone: ZoneInfo | None) -> str:
    """'Tue 10 Mar 2026 10:00-11:00 America/New_York' (the end's date too when it differs)."""
    zone = zone or UTC_ZONE
    a, b = start.astimezone(zone), end.astimezone(zone)
    until = f"{b:%H:%M}" if a.date() == b.date() else f"{b:{DATE_FORMAT} %H:%M}"
    return f"{a:{DATE_FORMAT} %H:%M}-{until} {zone.key}"


def aware(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant of a local wall-clock time (the first of an ambiguous pair)."""
    return datetime.combine(day, at, tzinfo=zone)


def local_time_exists(day: date, at: time, zone: ZoneInfo) -> bool:
    """False for a wall-clock time a spring-forward change skips (02:30 on the change date, say)."""
    moment = aware(day, at, zone)
    return moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == moment.replace(tzinfo=None)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return aware(day, time(0), zone)


def week_start(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def zone_q(zone_name: str, prefix: str = "") -> Q:
    """Rows (bookings, holds) whose location's zone is `zone_name`: its own, or its organization's."""
    return Q(**{f"{prefix}location__timezone": zone_name}) | Q(
        **{f"{prefix}location__timezone": "", f"{prefix}location__organization__timezone": zone_name}
    )


def local_days_q(zones: set[str], first: date, last: date, field: str = "starts_at") -> Q:
    """Rows whose `field` falls on local days first..last (inclusive) in their location's zone."""
    condition = Q(pk__in=[])
    for name in sorted(zones):
        zone = ZoneInfo(name)
        start, end = day_start(first, zone), day_start(last + timedelta(days=1), zone)
        condition |= zone_q(name) & Q(**{f"{field}__gte": start, f"{field}__lt": end})
    return condition


def zones_of(locations) -> set[str]:
    """The effective zones of a queryset of locations (one query)."""
    rows = locations.order_by().values_list("timezone", "organization__timezone").distinct()
    return {own or organization for own, organization in rows}
