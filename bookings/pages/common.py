"""What every customer page shares: the time zone shown, money and durations in words, the client's
address, rendering in a zone, and what this browser's session owns (its holds and bookings)."""

import zoneinfo
from collections import OrderedDict
from datetime import date, datetime, time, timedelta
from functools import cache

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone as djtz
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from rest_framework.throttling import BaseThrottle

from bookings.availability import Slot
from organizations.errors import NotFound, RateLimited
from organizations.models import Organization, is_iana_timezone
from organizations.rate_counts import request_limit

HOLDS_SESSION_KEY = "pages.holds"  # {hold uuid: {"tz": zone, "staff": "any" | staff uuid}}
BOOKINGS_SESSION_KEY = "pages.bookings"  # public ids of the bookings made in this browser, newest last
CONTACT_SESSION_KEY = "pages.contact"  # the contact details last typed, to fill the form in again
BOOKINGS_REMEMBERED = 20


@cache
def timezone_choices() -> list[tuple[str, str]]:
    """IANA zones for the zone select: the `Area/City` names and UTC (no aliases like `EST5EDT`)."""
    names = sorted(
        name
        for name in zoneinfo.available_timezones()
        if is_iana_timezone(name) and "/" in name and not name.startswith(("Etc/", "SystemV/", "posix", "right/"))
    )
    return [("UTC", "UTC"), *((name, name.replace("_", " ")) for name in names)]


class Page(View):
    """A customer page: `load()` reads what the URL names before the handler runs; what is not found
    (a service's NotFound) is the site's 404 page, never an error page of its own."""

    def load(self, request, **kwargs) -> None:
        pass

    def dispatch(self, request, *args, **kwargs):
        try:
            self.load(request, **kwargs)
            return super().dispatch(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.detail) from exc


def chosen_zone(value: str | None, organization: Organization) -> str:
    """The zone asked for if it is an IANA name, else the organization's."""
    value = (value or "").strip()
    return value if value and is_iana_timezone(value) else organization.timezone


def render_in_zone(request, template: str, context: dict, *, zone: str, status: int = 200):
    """Render with `zone` active, so every datetime in the template reads in it (and is named)."""
    with djtz.override(zoneinfo.ZoneInfo(zone)):
        return render(request, template, {**context, "zone": zone}, status=status)


def duration_text(minutes: int) -> str:
    """A duration in words, for the services list and the policy ("90 minutes", "2 hours")."""
    if minutes and minutes % 1440 == 0 and minutes >= 2880:
        days = minutes // 1440
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def client_ip(request) -> str:
    """The client's address, as the API's lookup counters see it (NUM_PROXIES hops back)."""
    return BaseThrottle().get_ident(request)


def rate_limit(request, *, group: str, rate: str) -> None:
    """Count this request against the client address's budget for `group`; over it: RateLimited."""
    request_limit(group, client_ip(request), rate)


def retry_words(error: RateLimited) -> str:
    seconds = error.retry_after or 60
    minutes = max(1, -(-seconds // 60))
    return ngettext(
        "Too many attempts from your connection. Please try again in %(n)d minute.",
        "Too many attempts from your connection. Please try again in %(n)d minutes.",
        minutes,
    ) % {"n": minutes}


# --- What this browser owns ------------------------------------------------------------------
def session_holds(request) -> dict:
    return request.session.get(HOLDS_SESSION_KEY, {})


def session_hold_remember(request, hold_uuid: str, *, zone: str, staff: str) -> None:
    holds = dict(session_holds(request))
    holds[hold_uuid] = {"tz": zone, "staff": staff}
    request.session[HOLDS_SESSION_KEY] = holds


def session_hold_forget(request, hold_uuid: str) -> None:
    holds = dict(session_holds(request))
    if holds.pop(hold_uuid, None) is not None:
        request.session[HOLDS_SESSION_KEY] = holds


def session_booking_remember(request, public_id: str) -> None:
    bookings = [b for b in request.session.get(BOOKINGS_SESSION_KEY, []) if b != public_id]
    request.session[BOOKINGS_SESSION_KEY] = [*bookings, public_id][-BOOKINGS_REMEMBERED:]


def session_owns_booking(request, public_id: str) -> bool:
    return public_id in request.session.get(BOOKINGS_SESSION_KEY, [])


# --- Slots as people read them ----------------------------------------------------------------
def local_day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    tz = zoneinfo.ZoneInfo(zone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def slots_by_local_day(slots: list[Slot], zone: str) -> dict[date, list[Slot]]:
    tz = zoneinfo.ZoneInfo(zone)
    days: dict[date, list[Slot]] = {}
    for slot in slots:
        days.setdefault(slot.starts_at.astimezone(tz).date(), []).append(slot)
    return days


def part_of_day(slots: list[Slot], zone: str) -> "OrderedDict[str, list[Slot]]":
    """Slots grouped morning (before 12:00), afternoon (before 17:00), evening, by local time."""
    tz = zoneinfo.ZoneInfo(zone)
    groups: OrderedDict[str, list[Slot]] = OrderedDict([(_("Morning"), []), (_("Afternoon"), []), (_("Evening"), [])])
    labels = list(groups)
    for slot in slots:
        hour = slot.starts_at.astimezone(tz).hour
        groups[labels[0] if hour < 12 else labels[1] if hour < 17 else labels[2]].append(slot)
    return OrderedDict((label, group) for label, group in groups.items() if group)


def today_in(zone: str) -> date:
    return djtz.now().astimezone(zoneinfo.ZoneInfo(zone)).date()
