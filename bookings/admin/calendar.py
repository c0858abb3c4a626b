"""`/admin/calendar/`: a day (one column per staff member) or a week (one staff member, or all),
in the location's local time, with bookings and active holds as blocks and the free slots of a
service, server-rendered on a CSS grid (a list per column on a phone).

Blocks are placed by their local wall-clock time, so a 10:00 booking sits at 10:00 on both sides
of a DST change. A fixed number of queries whatever the staff or days: the locations, staff and
services (for the pickers), the bookings and holds (bookings/calendar_reads.py), and the engine's
free slots of one service (bookings.availability.find_slots).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from bookings.admin.tenancy import EVERYONE, has_role, scope
from bookings.admin.times import day_start, week_start
from bookings.availability import find_slots
from bookings.calendar_reads import calendar_entries
from bookings.models import BookingStatus
from organizations.models import Location, Service, StaffMember

ROW_MINUTES = 15
DAY_FROM, DAY_UNTIL = 8 * 60, 19 * 60  # the axis shown at least, in local minutes
STATUS_LABELS = {**dict(BookingStatus.choices), "held": "Held", "free": "Free"}


@dataclass
class Block:
    kind: str  # booking, hold, free
    status: str
    start_minute: int  # local wall-clock minutes since midnight
    end_minute: int
    label: str
    detail: str = ""
    url: str = ""
    row_start: int = 0
    row_end: int = 0

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def start_text(self) -> str:
        return f"{self.start_minute // 60:02d}:{self.start_minute % 60:02d}"

    @property
    def time_text(self) -> str:
        if self.kind == "free":
            return self.start_text  # a free start: its length is the service's, not the block's
        return f"{self.start_text}-{self.end_minute // 60:02d}:{self.end_minute % 60:02d}"


@dataclass
class Column:
    day: date
    staff_id: int | None
    title: str
    index: int = 0
    blocks: list[Block] = field(default_factory=list)


def _parse_date(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _pick(rows: list, value: str | None):
    return next((row for row in rows if str(row.pk) == (value or "")), None)


def _minutes(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


class CalendarGrid:
    """The columns of the days and staff shown, and the blocks placed in them."""

    def __init__(self, *, days: list[date], staff: list[StaffMember], week: bool, zone: ZoneInfo, one_staff: bool):
        self.days, self.zone, self.one_staff = days, zone, one_staff
        self.columns: list[Column] = []
        for day in days:
            members: list[StaffMember | None] = list(staff) or [None]
            for member in members:
                if week and (one_staff or not staff):
                    title = f"{day:%a %d %b}"
                else:
                    title = member.name if member is not None else "No staff member"
                self.columns.append(Column(day, member.pk if member else None, title))
        self._by_key = {(c.day, c.staff_id): c for c in self.columns}
        self.grouped = week and not one_staff and bool(staff)  # a day header over each day's staff

    def column(self, moment: datetime, staff_id: int | None) -> Column | None:
        """The column of a moment and staff member; one "no staff member" column per day for the rest."""
        day = moment.astimezone(self.zone).date()
        found = self._by_key.get((day, staff_id))
        if found is None and day in self.days and (staff_id is None or not self.one_staff):
            found = self._by_key[(day, None)] = Column(day, None, "No staff member")
            self.columns.append(found)
        return found

    def place(self, moment: datetime, staff_id: int | None, block: Block) -> None:
        column = self.column(moment, staff_id)
        if column is not None:
            column.blocks.append(block)

    def layout(self) -> dict:
        """Grid rows and columns of everything: the axis covers the day's hours and every block."""
        self.columns.sort(key=lambda c: (c.day, c.staff_id is None))
        blocks = [b for c in self.columns for b in c.blocks]
        axis_from = min([DAY_FROM, *(b.start_minute for b in blocks)]) // 60 * 60
        axis_until = -(-max([DAY_UNTIL, *(b.end_minute for b in blocks)]) // 60) * 60
        header_rows = 2 if self.grouped else 1
        first = header_rows + 1

        def row(minute: int) -> int:
            return first + (min(max(minute, axis_from), axis_until) - axis_from) // ROW_MINUTES

        for index, column in enumerate(self.columns, start=2):
            column.index = index
            column.blocks.sort(key=lambda b: (b.start_minute, b.kind == "free"))
            for block in column.blocks:
                block.row_start = row(block.start_minute)
                block.row_end = max(
                    block.row_start + 1, first + -(-(min(block.end_minute, axis_until) - axis_from) // ROW_MINUTES)
                )
        day_groups: list[dict[str, Any]] = []
        if self.grouped:
            for column in self.columns:
                if day_groups and day_groups[-1]["day"] == column.day:
                    day_groups[-1]["span"] += 1
                else:
                    day_groups.append({"day": column.day, "start": column.index, "span": 1})
        rows = (axis_until - axis_from) // ROW_MINUTES
        return {
            "columns": self.columns,
            "day_groups": day_groups,
            "header_rows": header_rows,
            "first_row": first,
            "rows": rows,
            "hours": [{"label": f"{m // 60:02d}:00", "row": row(m)} for m in range(axis_from, axis_until, 60)],
        }


def calendar_view(request):
    if not has_role(request, EVERYONE):
        raise PermissionDenied
    params = request.GET
    locations = list(
        scope(Location.objects.select_related("organization").order_by("organization__name", "id"), request)
    )
    location = _pick(locations, params.get("location")) or (locations[0] if locations else None)
    context = {**admin.site.each_context(request), "title": "Calendar", "locations": locations, "location": location}
    if location is None:
        return TemplateResponse(request, "admin/workspace/calendar.html", context)
    zone = location.tz
    today = timezone.now().astimezone(zone).date()
    day = _parse_date(params.get("date"), today)
    view = "week" if params.get("view") == "week" else "day"
    staff = list(
        StaffMember.objects.filter(organization_id=location.organization_id, active=True).order_by("name", "id")
    )
    chosen_staff = _pick(staff, params.get("staff"))
    services = list(
        Service.objects.filter(locations=location, active=True, organization_id=location.organization_id).order_by(
            "name", "id"
        )
    )
    service = _pick(services, params.get("service"))
    if service is None and params.get("service") != "none":  # by default, the free times of an appointment
        service = next((s for s in services if not s.is_group), services[0] if services else None)

    days = [week_start(day) + timedelta(days=i) for i in range(7)] if view == "week" else [day]
    start, end = day_start(days[0], zone), day_start(days[-1] + timedelta(days=1), zone)
    grid = CalendarGrid(
        days=days,
        staff=[chosen_staff] if chosen_staff else staff,
        week=view == "week",
        zone=zone,
        one_staff=bool(chosen_staff),
    )
    _place_entries(grid, location, start, end, chosen_staff)
    if service is not None:
        _place_free_slots(grid, service, location, start, end, chosen_staff)

    step = timedelta(days=7 if view == "week" else 1)

    def link(**changes) -> str:
        query = {
            "location": location.pk,
            "date": f"{day:%Y-%m-%d}",
            "view": view,
            "staff": chosen_staff.pk if chosen_staff else "",
            "service": service.pk if service else "none",
            **changes,
        }
        return "?" + urlencode({k: v for k, v in query.items() if v != ""})

    heading = f"Week of {days[0]:%a %d %b %Y}" if view == "week" else f"{day:%A %d %B %Y}"
    context.update(
        {
            **grid.layout(),
            "zone": zone.key,
            "day": day,
            "view": view,
            "staff": staff,
            "chosen_staff": chosen_staff,
            "services": services,
            "service": service,
            "previous_link": link(date=f"{day - step:%Y-%m-%d}"),
            "next_link": link(date=f"{day + step:%Y-%m-%d}"),
            "today_link": link(date=f"{today:%Y-%m-%d}"),
            "day_link": link(view="day"),
            "week_link": link(view="week"),
            "heading": heading + (f", {chosen_staff.name}" if chosen_staff else ""),
        }
    )
    return TemplateResponse(request, "admin/workspace/calendar.html", context)


def _place_entries(grid: CalendarGrid, location: Location, start, end, chosen_staff) -> None:
    zone = location.tz
    change_url = reverse("admin:bookings_booking_change", args=[0]).replace("/0/", "/{}/")
    staff_ids = [chosen_staff.pk] if chosen_staff else None
    for entry in calendar_entries(location=location, start=start, end=end, staff_ids=staff_ids):
        local_start, local_end = entry.starts_at.astimezone(zone), entry.ends_at.astimezone(zone)
        end_minute = _minutes(local_end) if local_end.date() == local_start.date() else 24 * 60
        grid.place(
            entry.starts_at,
            entry.staff_id,
            Block(
                kind=entry.kind,
                status=entry.status,
                start_minute=_minutes(local_start),
                end_minute=max(end_minute, _minutes(local_start) + ROW_MINUTES),
                label=entry.service,
                detail=entry.who,
                url=change_url.format(entry.id) if entry.kind == "booking" else "",
            ),
        )


def _place_free_slots(grid: CalendarGrid, service: Service, location: Location, start, end, chosen_staff) -> None:
    """The engine's free starts of `service`, each a link to book it, as long as the service's interval."""
    zone = location.tz
    add_url = reverse("admin:bookings_booking_add")
    for slot in find_slots(service, start, end, location=location, staff=chosen_staff):
        local_start = slot.starts_at.astimezone(zone)
        for staff_id in slot.staff_ids or (None,):
            query = {"service": service.pk, "location": location.pk, "date": f"{local_start:%Y-%m-%d}"}
            query["time"] = f"{local_start:%H:%M}"
            if staff_id is not None:
                query["staff"] = staff_id
            grid.place(
                slot.starts_at,
                staff_id,
                Block(
                    kind="free",
                    status="free",
                    start_minute=_minutes(local_start),
                    end_minute=min(_minutes(local_start) + service.interval_minutes, 24 * 60),
                    label="Free",
                    detail=f"book {service.name}",
                    url=f"{add_url}?{urlencode(query)}",
                ),
            )
