"""`/admin/reports/`: per staff member and per week at one location, utilisation (booked minutes over
bookable minutes), bookings, cancellations, no-shows and their rate, and deposits taken, drawn as
CSS bars with the figures beside them; `?format=csv` exports the same figures.

For owners. A fixed number of queries whatever the staff or weeks (bookings/reporting.py).
"""

import csv
from datetime import date, timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from bookings.admin.tenancy import OWNERS, has_role, scope
from bookings.admin.times import week_start
from bookings.reporting import StaffFigures, WeekFigures, staff_week_figures
from organizations.models import Location

MAX_WEEKS = 26
DEFAULT_WEEKS = 4


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _hours(minutes: int) -> str:
    return f"{minutes // 60}h{minutes % 60:02d}"


def _money(minor: int, currency: str) -> str:
    return f"{minor / 100:.2f} {currency}"


def _week_row(week: WeekFigures, currency: str, busiest: int) -> dict:
    utilisation = week.utilisation
    return {
        "week": week.week,
        "week_end": week.week + timedelta(days=6),
        "utilisation": _percent(utilisation),
        "utilisation_width": min(100, round((utilisation or 0) * 100, 1)),
        "booked": _hours(week.booked_minutes),
        "bookable": _hours(week.bookable_minutes),
        "bookings": week.bookings,
        "bookings_width": round(100 * week.bookings / busiest, 1) if busiest else 0,
        "cancellations": week.cancellations,
        "no_shows": week.no_shows,
        "no_show_rate": _percent(week.no_show_rate),
        "no_show_width": min(100, round((week.no_show_rate or 0) * 100, 1)),
        "deposits": _money(week.deposits_minor, currency),
    }


def _csv(rows: list[StaffFigures], location: Location) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="report-{location.organization.slug}-{location.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "staff",
            "week_start",
            "bookable_minutes",
            "booked_minutes",
            "utilisation",
            "bookings",
            "cancellations",
            "no_shows",
            "no_show_rate",
            "deposits",
            "currency",
            "time_zone",
        ]
    )
    for row in rows:
        for week in row.weeks:
            writer.writerow(
                [
                    row.name,
                    f"{week.week:%Y-%m-%d}",
                    week.bookable_minutes,
                    week.booked_minutes,
                    "" if week.utilisation is None else f"{week.utilisation:.4f}",
                    week.bookings,
                    week.cancellations,
                    week.no_shows,
                    "" if week.no_show_rate is None else f"{week.no_show_rate:.4f}",
                    f"{week.deposits_minor / 100:.2f}",
                    location.organization.currency,
                    location.tz.key,
                ]
            )
    return response


def reports_view(request):
    if not has_role(request, OWNERS):
        raise PermissionDenied
    params = request.GET
    locations = list(
        scope(Location.objects.select_related("organization").order_by("organization__name", "id"), request, OWNERS)
    )
    location = next((loc for loc in locations if str(loc.pk) == params.get("location", "")), None)
    location = location or (locations[0] if locations else None)
    context = {**admin.site.each_context(request), "title": "Reports", "locations": locations, "location": location}
    if location is None:
        return TemplateResponse(request, "admin/workspace/reports.html", context)
    today = timezone.now().astimezone(location.tz).date()
    try:
        weeks = min(MAX_WEEKS, max(1, int(params.get("weeks") or DEFAULT_WEEKS)))
    except ValueError:
        weeks = DEFAULT_WEEKS
    try:
        first = date.fromisoformat(params["from"]) if params.get("from") else None
    except ValueError:
        first = None
    first = week_start(first or today - timedelta(days=7 * (weeks - 1)))
    rows = staff_week_figures(location=location, first_week=first, weeks=weeks)
    if params.get("format") == "csv":
        return _csv(rows, location)
    currency = location.organization.currency
    busiest = max((w.bookings for row in rows for w in row.weeks), default=0)
    query = f"location={location.pk}&from={first:%Y-%m-%d}&weeks={weeks}"
    context.update(
        {
            "zone": location.tz.key,
            "first": first,
            "weeks": weeks,
            "last": first + timedelta(days=7 * weeks - 1),
            "staff_rows": [
                {"name": row.name, "weeks": [_week_row(w, currency, busiest) for w in row.weeks]} for row in rows
            ],
            "csv_link": f"?{query}&format=csv",
            "previous_link": f"?location={location.pk}&from={first - timedelta(days=7 * weeks):%Y-%m-%d}&weeks={weeks}",
            "next_link": f"?location={location.pk}&from={first + timedelta(days=7 * weeks):%Y-%m-%d}&weeks={weeks}",
        }
    )
    return TemplateResponse(request, "admin/workspace/reports.html", context)
