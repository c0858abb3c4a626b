"""The availability engine: which slots of a service are free, and is this one?

Every booking surface asks `find_slots` ("what is free?") and every writer asks `slot_check`
("is this still free?") inside its transaction, under the resource locks. Both read a fixed,
small number of queries whatever the window or the number of staff (no N+1):

1. the service's locations, with the organization (time zone, booking policy);
2. in one statement (a UNION ALL: one round trip, not six), the service's staff and, of the staff
   who may serve (filtered by host and team, within the statement) and the locations: weekly
   working hours, date overrides, time off, active bookings that could overlap (same staff, any
   service; the location when no staff) and active holds (`expires_at` in the future: a hold
   stops blocking the moment it expires);
3. group sessions of this service with their seats taken (group services only).
Slots also carry the uuids of their location and staff (read by queries 1, 2 and 3), so that
callers showing them need no further query. Query 2 is SQL written once
(bookings/schedule_reads.py): through the ORM, building it cost more than running it.

Schedules are wall-clock rules in the location's time zone (fallback: the organization's), so
a 09:00 opening is 09:00 local on both sides of a DST change; a slot at a local time that does
not exist is skipped, and an ambiguous one is offered once (its first occurrence).
A slot must lie inside working hours; its buffer-extended interval must not overlap another
booking's or hold's buffer-extended interval.
"""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum
from django.utils import timezone as djtz

from bookings.models import ACTIVE_STATUSES, Booking, Participant
from bookings.schedule_reads import schedule_rows
from holds.models import Hold
from organizations.compiled import CompiledQuery
from organizations.errors import Conflict, Unprocessable
from organizations.models import Location, Service, StaffMember, Team

OUTSIDE_HOURS = "Booking is outside service hours"

Interval = tuple[datetime, datetime]
# Whose rules and busy times: ("staff", staff id) or ("location", location id).
Owner = tuple[str, int]


class _Session(TypedDict):
    """An open group session of the service: its booking, its host (if any), its seats taken."""

    id: int
    staff_id: int | None
    seats: int


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    location_id: int
    staff_ids: tuple[int, ...] = ()  # staff free for this slot; () for services without staff
    capacity: int | None = None  # remaining seats for group services; None for appointments
    # The public identifiers of location_id and staff_ids, read by the same queries (not compared).
    location_uuid: uuid.UUID | None = field(default=None, compare=False)
    staff_uuids: tuple[uuid.UUID, ...] = field(default=(), compare=False)


@dataclass
class _Candidate:
    """A start time that the rules allow, with who could serve it and who is free."""

    starts_at: datetime
    ends_at: datetime
    location_id: int
    possible_staff: list[int] = field(default_factory=list)
    free_staff: list[int] = field(default_factory=list)
    location_free: bool = True
    capacity: int | None = None


class _Disjoint:
    """Sorted disjoint intervals with an O(log n) overlap test."""

    def __init__(self, intervals: list[Interval]):
        merged: list[list[datetime]] = []
        for start, end in sorted(intervals):
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [m[0] for m in merged]
        self.ends = [m[1] for m in merged]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        i = bisect.bisect_left(self.starts, end) - 1  # last interval starting before `end`
        return i >= 0 and self.ends[i] > start


_EMPTY = _Disjoint([])


def _local_windows(
    owner_rules: list[tuple[int, time, time]],
    overrides: dict[date, list[tuple[time | None, time | None]]],
    day: date,
) -> list[tuple[time, time]] | None:
    """Opening windows of one owner on one local date; None when the owner has no rules at all."""
    if day in overrides:
        return sorted((s, e) for s, e in overrides[day] if s is not None and e is not None)
    if not owner_rules:
        return None
    return sorted((s, e) for wd, s, e in owner_rules if wd == day.weekday())


def _intersect(a: list[tuple[time, time]], b: list[tuple[time, time]]) -> list[tuple[time, time]]:
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            s, e = max(s1, s2), min(e1, e2)
            if s < e:
                out.append((s, e))
    return sorted(out)


def _aware(day: date, t: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall-clock time; None when that local time does not exist."""
    local = datetime.combine(day, t, tzinfo=tz)  # fold=0: the first of an ambiguous pair
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None  # skipped by a spring-forward change
    return utc


def _service_locations(service: Service, location: Location | None) -> list[Location]:
    """The service's locations (only `location`, if it is one of them) with their organization, by id.

    A caller that has prefetched `service.locations` with their organization saves the query.
    """
    prefetched = getattr(service, "_prefetched_objects_cache", {}).get("locations")
    if prefetched is None or not all(Location.organization.is_cached(loc) for loc in prefetched):
        prefetched = _SERVICE_LOCATIONS.fetch(service.pk)
    return sorted((loc for loc in prefetched if location is None or loc.pk == location.pk), key=lambda loc: loc.id)


# Compiled once: building this read through the ORM cost more than half of a small window's CPU.
_SERVICE_LOCATIONS: CompiledQuery[Location] = CompiledQuery(
    lambda service_id: Location.objects.filter(services=service_id).select_related("organization").order_by("id"), -1
)


def service_locations_prefetch(service: Service) -> None:
    """Read `service.locations` with their organization, once, and keep them where the ORM keeps a
    prefetch (`service.locations.all()` then answers without a query; the engine uses them too).

    What `prefetch_related_objects(service, Prefetch("locations", <select_related organization>))`
    leaves, from the compiled read: building that prefetch through the ORM cost a third of an
    uncached availability request. Nothing is read when they are already prefetched.
    """
    cache = service.__dict__.setdefault("_prefetched_objects_cache", {})
    if "locations" in cache:
        return
    rows = _SERVICE_LOCATIONS.fetch(service.pk)
    queryset = service.locations.all()
    queryset._result_cache = rows  # what the ORM's own prefetch stores (django/db/models/query.py)
    queryset._prefetch_done = True  # type: ignore[attr-defined]  # set by the ORM's prefetch, as here
    cache["locations"] = queryset


class _Schedule:
    """Everything the engine reads for one service over one window, loaded in a fixed number of queries."""

    def __init__(
        self,
        service: Service,
        start: datetime,
        end: datetime,
        *,
        location: Location | None,
        staff: StaffMember | None,
        team: Team | None,
        now: datetime,
        ignore_booking: Booking | None = None,
        ignore_hold: Hold | None = None,
    ):
        self.service = service
        self.now = now
        self.duration = timedelta(minutes=service.duration_minutes)
        self.interval = timedelta(minutes=service.interval_minutes)
        self.before = timedelta(minutes=service.buffer_before_minutes)
        self.after = timedelta(minutes=service.buffer_after_minutes)

        self.locations = _service_locations(service, location)
        self.org = self.locations[0].organization if self.locations else service.organization

        self.location_uuids: dict[int, uuid.UUID] = {loc.id: loc.uuid for loc in self.locations}
        location_ids = [loc.id for loc in self.locations]

        # Local dates to scan: one day of margin each side covers every time zone offset.
        self.first_day = (start - timedelta(days=1)).date()
        self.last_day = (end + timedelta(days=1)).date()

        pad = self.before + self.after
        lo, hi = start - pad - self.duration, end + pad + self.duration
        # Staff, hours, overrides, time off, bookings and holds in one statement: one round trip, not
        # six. The statement itself picks the staff whose rows it reads: self.staff_ids below.
        # The engine sorts what it reads itself: no ORDER BY (the models' Meta.ordering) on these reads.
        rows = schedule_rows(
            service.pk,
            team.pk if team is not None else None,
            staff.pk if staff is not None else None,
            location_ids,
            self.first_day,
            self.last_day,
            lo,
            hi,
            now,
            ignore_booking.pk if ignore_booking is not None else None,
            ignore_hold.pk if ignore_hold is not None else None,
        )

        # Every active staff member of the service (by id), flagged by the team filter. A service with
        # no staff at all is served by the location itself.
        self.uses_staff = bool(rows.staff)
        self.staff_ids = [
            staff_id for staff_id, _uuid, in_team in rows.staff if in_team and (staff is None or staff_id == staff.pk)
        ]
        self.staff_uuids: dict[int, uuid.UUID] = {staff_id: staff_uuid for staff_id, staff_uuid, _ in rows.staff}

        self.rules: dict[Owner, list[tuple[int, time, time]]] = defaultdict(list)
        for row in rows.working_hours:
            self.rules[self._owner(row[0], row[1])].append((row[2], row[3], row[4]))

        self.overrides: dict[Owner, dict[date, list[tuple[time | None, time | None]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for row in rows.date_overrides:
            self.overrides[self._owner(row[0], row[1])][row[2]].append((row[3], row[4]))

        time_off: dict[Owner, list[Interval]] = defaultdict(list)
        for row in rows.time_off:
            time_off[self._owner(row[0], row[1])].append((row[2], row[3]))
        self.time_off = {k: _Disjoint(v) for k, v in time_off.items()}

        # Busy intervals (buffer-extended) of each staff member and of each location (no-staff bookings).
        busy: dict[Owner, list[Interval]] = defaultdict(list)
        # Group sessions of this service: their staff are busy except for joining the session itself.
        self.sessions: dict[tuple[int, datetime], _Session] = {}
        for staff_id, loc_id, bs, be, is_group, service_id in rows.bookings:
            if is_group and service_id == service.id:
                continue  # counted as a session below
            busy[("staff", staff_id) if staff_id else ("location", loc_id)].append((bs, be))

        if service.is_group:
            sessions = Booking.objects.filter(
                service=service,
                location_id__in=location_ids,
                is_group=True,
                status__in=ACTIVE_STATUSES,
                starts_at__gte=lo,
                starts_at__lt=hi,
            ).annotate(seats=Sum("participants__party_size", filter=Q(participants__status=Participant.Status.ACTIVE)))
            if ignore_booking is not None:
                sessions = sessions.exclude(pk=ignore_booking.pk)
            for b_id, loc_id, starts_at, staff_id, staff_uuid, seats in sessions.values_list(
                "id", "location_id", "starts_at", "staff_id", "staff__uuid", "seats"
            ):
                self.sessions[(loc_id, starts_at)] = {"id": b_id, "staff_id": staff_id, "seats": seats or 0}
                if staff_id:  # a session's host may since have left the service: its uuid comes from here
                    self.staff_uuids.setdefault(staff_id, staff_uuid)
        # Sessions of this service still block their staff for other start times.
        for (_loc_id, starts_at), session in self.sessions.items():
            if session["staff_id"]:
                busy[("staff", session["staff_id"])].append(
                    (starts_at - self.before, starts_at + self.duration + self.after)
                )

        self.held_seats: dict[tuple[int, datetime], int] = defaultdict(int)
        for staff_id, loc_id, service_id, hold_service_group, starts_at, bs, be, party in rows.holds:
            is_group_hold = hold_service_group == Service.Kind.GROUP
            if is_group_hold and service_id == service.id:
                self.held_seats[(loc_id, starts_at)] += party
                if staff_id and (loc_id, starts_at) not in self.sessions:
                    # A held seat in a session not opened yet reserves its staff member at that start.
                    busy[("staff", staff_id)].append((bs, be))
                continue
            if staff_id:
                busy[("staff", staff_id)].append((bs, be))
            elif not is_group_hold:
                busy[("location", loc_id)].append((bs, be))
        self.busy = {k: _Disjoint(v) for k, v in busy.items()}

    @staticmethod
    def _owner(staff_id: int | None, location_id: int) -> Owner:
        return ("staff", staff_id) if staff_id else ("location", location_id)

    def _windows(self, owner: Owner, day: date) -> list[tuple[time, time]] | None:
        return _local_windows(self.rules.get(owner, []), self.overrides.get(owner, {}), day)

    def candidates(self, start: datetime, end: datetime, *, party_size: int = 1) -> list[_Candidate]:
        """Every start in [start, end) that the rules allow, with who could serve it and who is free."""
        by_start: dict[tuple[int, datetime], _Candidate] = {}
        service = self.service
        for location in self.locations:
            tz = location.tz
            loc_owner = ("location", location.id)
            loc_off = self.time_off.get(loc_owner)
            # A window's starts, shared by every staff member with the same hours that day.
            day_starts: dict[tuple[date, time, time], list[Interval]] = {}
            day = self.first_day
            while day <= self.last_day:
                loc_windows = self._windows(loc_owner, day)
                if self.uses_staff:
                    resources = []
                    for staff_id in self.staff_ids:
                        staff_windows = self._windows(("staff", staff_id), day)
                        if staff_windows is None:  # no rules of their own: the location's hours
                            windows = loc_windows or []
                        elif loc_windows is None:
                            windows = staff_windows
                        else:
                            windows = _intersect(staff_windows, loc_windows)
                        resources.append((staff_id, windows))
                else:
                    resources = [(None, loc_windows or [])]
                for staff_id, windows in resources:
                    staff_owner = ("staff", staff_id) if staff_id is not None else None
                    staff_off = self.time_off.get(staff_owner) if staff_owner else None
                    busy = self.busy.get(staff_owner if staff_owner else loc_owner, _EMPTY)
                    for w_start, w_end in windows:
                        window_key = (day, w_start, w_end)
                        starts = day_starts.get(window_key)
                        if starts is None:
                            starts = day_starts[window_key] = self._starts(day, w_start, w_end, tz, start, end)
                        for s, e in starts:
                            if loc_off is not None and loc_off.overlaps(s, e):
                                continue
                            if staff_off is not None and staff_off.overlaps(s, e):
                                continue
                            key = (location.id, s)
                            cand = by_start.get(key)
                            if cand is None:
                                cand = by_start[key] = _Candidate(s, e, location.id)
                            free = not busy.overlaps(s - self.before, e + self.after)
                            if staff_id is not None:
                                cand.possible_staff.append(staff_id)
                                if free:
                                    cand.free_staff.append(staff_id)
                            else:
                                cand.location_free = free
                day += timedelta(days=1)

        if service.is_group:
            for (loc_id, s), cand in by_start.items():
                session = self.sessions.get((loc_id, s))
                taken = (session["seats"] if session else 0) + self.held_seats.get((loc_id, s), 0)
                cand.capacity = max(service.capacity_max - taken, 0)
                if session is not None:
                    # Joining an open session needs seats, not a free host: the host is already there.
                    cand.free_staff = [session["staff_id"]] if session["staff_id"] else []
                    cand.location_free = True
        return [by_start[k] for k in sorted(by_start, key=lambda k: (k[1], k[0]))]

    def _starts(
        self, day: date, w_start: time, w_end: time, tz: ZoneInfo, start: datetime, end: datetime
    ) -> list[Interval]:
        """(start, end) in UTC of every slot of one opening window on one local day that starts in
        [start, end): every interval from the window's start, skipping local times that do not exist,
        up to the first slot that would end after the window."""
        w_end_utc = _aware(day, w_end, tz) or datetime.combine(day, w_end, tzinfo=tz).astimezone(UTC)
        # A window wholly outside [start, end) has no slot in it: every slot ends by w_end_utc, and a
        # local time's instant only grows with it, so none starts before the window's first (when that
        # exists). The engine scans a day of margin each side; these are most of a small window's days.
        if w_end_utc - self.duration < start:
            return []
        first = _aware(day, w_start, tz)
        if first is not None and first >= end:
            return []
        found: list[Interval] = []
        t = datetime.combine(day, w_start)
        limit = datetime.combine(day, w_end)
        while t < limit:
            s = _aware(day, t.time(), tz)
            t += self.interval
            if s is None:
                continue
            e = s + self.duration
            if e > w_end_utc:
                break
            if start <= s < end:
                found.append((s, e))
        return found

    def is_free(self, cand: _Candidate, party_size: int) -> bool:
        if self.service.is_group:
            if cand.capacity is None or cand.capacity < party_size:
                return False
            return bool(cand.free_staff) or not self.uses_staff or (cand.location_id, cand.starts_at) in self.sessions
        return bool(cand.free_staff) if self.uses_staff else cand.location_free

    def policy_problem(self, starts_at: datetime) -> str | None:
        org = self.org
        if starts_at < self.now + timedelta(minutes=org.min_notice_minutes):
            if starts_at <= self.now:
                return "starts_at must be in the future"
            return f"Booking is too soon: at least {org.min_notice_minutes} minutes' notice is required"
        if starts_at > self.now + timedelta(days=org.max_advance_days):
            return f"Booking is too far ahead: at most {org.max_advance_days} days in advance"
        return None

    def slot(self, cand: _Candidate) -> Slot:
        return Slot(
            starts_at=cand.starts_at,
            ends_at=cand.ends_at,
            location_id=cand.location_id,
            staff_ids=tuple(cand.free_staff),
            capacity=cand.capacity if self.service.is_group else None,
            location_uuid=self.location_uuids[cand.location_id],
            staff_uuids=tuple(self.staff_uuids[staff_id] for staff_id in cand.free_staff),
        )


def find_slots(
    service: Service,
    start: datetime,
    end: datetime,
    *,
    location: Location | None = None,
    staff: StaffMember | None = None,
    team: Team | None = None,
    party_size: int = 1,
    now: datetime | None = None,
    ignore_booking: Booking | None = None,
) -> list[Slot]:
    """Free slots of `service` starting in [start, end), in time order, each once per location and start.

    `ignore_booking`: a booking about to move, whose own slot does not count against it (rescheduling).
    """
    now = now or djtz.now()
    if not service.active or party_size > service.capacity_max:
        return []
    schedule = _Schedule(
        service, start, end, location=location, staff=staff, team=team, now=now, ignore_booking=ignore_booking
    )
    earliest = now + timedelta(minutes=schedule.org.min_notice_minutes)
    latest = now + timedelta(days=schedule.org.max_advance_days)
    start, end = max(start, earliest), min(end, latest + timedelta(microseconds=1))
    if start >= end:
        return []
    return [
        schedule.slot(cand)
        for cand in schedule.candidates(start, end, party_size=party_size)
        if schedule.is_free(cand, party_size)
    ]


def slot_check(
    service: Service,
    starts_at: datetime,
    *,
    location: Location,
    staff: StaffMember | None = None,
    team: Team | None = None,
    party_size: int = 1,
    now: datetime | None = None,
    ignore_booking: Booking | None = None,
    ignore_hold: Hold | None = None,
    enforce_policy: bool = True,
) -> Slot:
    """The slot at `starts_at`, or why not: Unprocessable when it is not a slot at all (with the
    reason), Conflict when it is a slot but taken. Call it under the resource locks to rely on it."""
    now = now or djtz.now()
    starts_at = starts_at.astimezone(UTC)
    if not service.active:
        raise Unprocessable("This service is not bookable")
    if party_size < 1:
        raise Unprocessable("party_size must be at least 1")
    if party_size > service.capacity_max:
        raise Unprocessable(f"party_size: {party_size} exceeds the service capacity of {service.capacity_max}")
    instant = (starts_at, starts_at + timedelta(microseconds=1))

    def schedule_at(**filters: Any) -> _Schedule:
        return _Schedule(service, *instant, location=location, now=now, **filters)

    schedule = schedule_at(staff=staff, team=team, ignore_booking=ignore_booking, ignore_hold=ignore_hold)
    if not schedule.locations:
        raise Unprocessable("This service is not offered at that location")
    if enforce_policy:
        problem = schedule.policy_problem(starts_at)
        if problem:
            raise Unprocessable(problem)
    if (staff is not None or team is not None) and not schedule.staff_ids:
        who = "host_id" if staff is not None else "team_id"
        raise Unprocessable(f"{who}: cannot serve this service")
    found = schedule.candidates(*instant, party_size=party_size)
    if not found:
        if staff is not None or team is not None:
            # Not a slot for this host or team: say so when it is a slot for someone else.
            if schedule_at(staff=None, team=None).candidates(*instant):
                who = "host_id" if staff is not None else "team_id"
                raise Unprocessable(f"{who}: not available at this time")
        raise Unprocessable(OUTSIDE_HOURS)
    cand = found[0]
    if not schedule.is_free(cand, party_size):
        if service.is_group and cand.capacity is not None and cand.capacity < party_size:
            raise Conflict("Not enough seats left in this session" if cand.capacity else "This session is full")
        raise Conflict()
    return schedule.slot(cand)
