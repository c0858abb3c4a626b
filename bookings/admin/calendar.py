"""`/admin/calendar/`: a day (one column per staff member) or a week (one staff member, or all),
in the location's local time, with bookings and active holds as blocks and the free slots of a
service, server-rendered on a CSS grid.

Blocks are placed by their local wall-clock time, so a 10:00 booking sits at 10:00 on both sides
of a DST change. A fixed number of queries whatever the staff or days: the locations, staff and
services offered (for the pickers), the bookings and holds (bookings/calendar_reads.py), and the
engine's free slots of one service (bookings.availability.find_slots).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

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
STATUS_LABELS = dict(BookingStatus.choices)
DAY_FROM, DAY_UNTIL = 8 * 60, 19 * 60  # the axis shown at least, in local minutes


@dataclass
class Block:
    kind: str  # booking, hold, free
    status: str
    start_minute: int  # local wall-clock minutes since midnight
    end_minute: int
    label: str
    detail: str
    url: str = ""
    status_label: str = ""
    row_start: int = 0
    row_end: int = 0

    @property
    def time_text(self) -> str:
        return f"{self.start_minute // 60:02d}:{self.start_minute % 60:02d}-{self.end_minute // 60:02d}:{self.end_minute % 60:02d}"


@dataclass
class Column:
    day: date
    staff_id: int | None
    title: str
    subtitle: str
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


def calendar_view(request):
    if not has_role(request, EVERYONE):
        raise PermissionDenied
    params = request.GET
    locations = list(
        scope(Location.objects.select_related("organization").order_by("organization__name", "id"), request)
    )
    location = _pick(locations, params.get("location")) or (locations[0] if locations else None)
    context = {"title": "Calendar", "locations": locations, "location": location}
    if location is None:
        return TemplateResponse(request, "admin/workspace/calendar.html", {**request_context(request), **context})
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
    if service is None and params.get("service") != "none":
        service = next((s for s in services if not s.is_group), services[0] if services else None)
    shown_staff = [chosen_staff] if chosen_staff else staff

    days = [week_start(day) + timedelta(days=i) for i in range(7)] if view == "week" else [day]
    start, end = day_start(days[0], zone), day_start(days[-1] + timedelta(days=1), zone)

    columns: list[Column] = []
    for each_day in days:
        for member in shown_staff or [None]:
            title = member.name if member is not None else location.name
            if view == "week":
                title, subtitle = f"{each_day:%a %d %b}", (member.name if member and len(shown_staff) > 1 else "")
            else:
                subtitle = ""
            columns.append(Column(each_day, member.pk if member else None, title, subtitle))
    by_key = {(c.day, c.staff_id): c for c in columns}
    unassigned: dict[date, Column] = {}

    def column_for(moment: datetime, staff_id: int | None) -> Column | None:
        local_day = moment.astimezone(zone).date()
        found = by_key.get((local_day, staff_id))
        if found is None and local_day in days and (staff_id is None or chosen_staff is None):
            found = unassigned.get(local_day)
            if found is None:
                found = unassigned[local_day] = Column(local_day, None, "No staff member", f"{local_day:%a %d %b}")
        return found

    staff_ids = [chosen_staff.pk] if chosen_staff else None
    admin_booking = reverse("admin:bookings_booking_change", args=[0]).replace("/0/", "/{}/")
    for entry in calendar_entries(location=location, start=start, end=end, staff_ids=staff_ids):
        column = column_for(entry.starts_at, entry.staff_id)
        if column is None:
            continue
        local_start, local_end = entry.starts_at.astimezone(zone), entry.ends_at.astimezone(zone)
        end_minute = _minutes(local_end) if local_end.date() == local_start.date() else 24 * 60
        column.blocks.append(
            Block(
                kind=entry.kind,
                status=entry.status,
                start_minute=_minutes(local_start),
                end_minute=max(end_minute, _minutes(local_start) + ROW_MINUTES),
                label=entry.service,
                detail=entry.who,
                url=admin_booking.format(entry.id) if entry.kind == "booking" else "",
                status_label=STATUS_LABELS.get(entry.status, "Held"),
            )
        )
    if service is not None:
        add_url = reverse("admin:bookings_booking_add")
        interval = service.interval_minutes
        for slot in find_slots(service, start, end, location=location, staff=chosen_staff):
            local_start = slot.starts_at.astimezone(zone)
            for staff_id in slot.staff_ids or (None,):
                column = by_key.get((local_start.date(), staff_id)) or column_for(slot.starts_at, staff_id)
                if column is None:
                    continue
                query = {
                    "service": service.pk,
                    "location": location.pk,
                    "date": f"{local_start:%Y-%m-%d}",
                    "time": f"{local_start:%H:%M}",
                }
                if staff_id is not None:
                    query["staff"] = staff_id
                column.blocks.append(
                    Block(
                        kind="free",
                        status="free",
                        start_minute=_minutes(local_start),
                        end_minute=min(_minutes(local_start) + interval, 24 * 60),
                        label="Free",
                        detail=f"Book {service.name}",
                        url=f"{add_url}?{urlencode(query)}",
                    )
                )
    columns += [unassigned[d] for d in sorted(unassigned)]
    if view == "week" and unassigned:
        columns.sort(key=lambda c: (c.day, c.staff_id is None))

    blocks = [b for c in columns for b in c.blocks]
    axis_from = min([DAY_FROM, *(b.start_minute for b in blocks)]) // 60 * 60
    axis_until = -(-max([DAY_UNTIL, *(b.end_minute for b in blocks)]) // 60) * 60
    rows = (axis_until - axis_from) // ROW_MINUTES
    for index, column in enumerate(columns, start=2):
        column.index = index
        column.blocks.sort(key=lambda b: (b.start_minute, b.kind != "free"))
        for block in column.blocks:
            block.row_start = 2 + (max(block.start_minute, axis_from) - axis_from) // ROW_MINUTES
            block.row_end = max(
                block.row_start + 1, 2 + -(-(min(block.end_minute, axis_until) - axis_from) // ROW_MINUTES)
            )
    hours = [
        {"label": f"{minute // 60:02d}:00", "row": 2 + (minute - axis_from) // ROW_MINUTES}
        for minute in range(axis_from, axis_until, 60)
    ]
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

    context.update(
        {
            "zone": zone.key,
            "day": day,
            "days": days,
            "view": view,
            "staff": staff,
            "chosen_staff": chosen_staff,
            "services": services,
            "service": service,
            "columns": columns,
            "hours": hours,
            "rows": rows,
            "row_span": rows + 1,
            "previous_link": link(date=f"{day - step:%Y-%m-%d}"),
            "next_link": link(date=f"{day + step:%Y-%m-%d}"),
            "today_link": link(date=f"{today:%Y-%m-%d}"),
            "day_link": link(view="day"),
            "week_link": link(view="week"),
            "heading": (f"Week of {days[0]:%a %d %b %Y}" if view == "week" else f"{day:%A %d %B %Y}")
            + (f", {chosen_staff.name}" if chosen_staff else ""),
        }
    )
    return TemplateResponse(request, "admin/workspace/calendar.html", {**request_context(request), **context})


def request_context(request) -> dict:
    return admin.site.each_context(request)
