"""Recurring series: an RFC 5545 rule expanded in local wall-clock time, booked all or nothing.

Occurrences are expanded with dateutil's rrule on naive local times of the location (falling back
to the organization's zone), then localised one by one, so a class at 18:00 stays at 18:00 when
daylight saving time begins or ends.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil import rrule
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.models import ACTIVE_STATUSES, Booking, RecurringSeries
from bookings.services.actors import Actor
from bookings.services.bookings import booking_create
from bookings.services.quorum import group_initial_status, session_confirm_on_quorum
from bookings.services.reservation import locks_take, slots_locks
from bookings.services.status import booking_cancel
from organizations.errors import Conflict, InvalidInput, Unprocessable
from organizations.models import Customer, Location, Service, StaffMember

# dateutil's frequency constants (YEARLY 0 ... DAILY 3), which its rrule takes as literals.
FREQUENCIES: dict[str, Literal[0, 1, 2, 3]] = {
    "DAILY": rrule.DAILY,
    "WEEKLY": rrule.WEEKLY,
    "MONTHLY": rrule.MONTHLY,
    "YEARLY": rrule.YEARLY,
}
WEEKDAYS = {
    "MO": rrule.MO,
    "TU": rrule.TU,
    "WE": rrule.WE,
    "TH": rrule.TH,
    "FR": rrule.FR,
    "SA": rrule.SA,
    "SU": rrule.SU,
}


@dataclass(frozen=True)
class RecurrenceRule:
    frequency: str  # DAILY, WEEKLY, MONTHLY or YEARLY
    until: datetime  # aware
    interval: int = 1
    weekdays: tuple[str, ...] = ()

    def as_rrule_string(self, tz: ZoneInfo) -> str:
        """The RFC 5545 RRULE text stored on the series (UNTIL in UTC, as the RFC asks)."""
        parts = [f"FREQ={self.frequency}", f"INTERVAL={self.interval}"]
        if self.weekdays:
            parts.append("BYDAY=" + ",".join(self.weekdays))
        parts.append("UNTIL=" + self.until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
        return ";".join(parts)


def series_occurrences(*, rule: RecurrenceRule, starts_at: datetime, tz: ZoneInfo, limit: int) -> list[datetime]:
    """Aware start times of every occurrence, expanded in the local time of `tz`.

    Raises Unprocessable when the rule yields more than `limit` occurrences.
    """
    if rule.frequency not in FREQUENCIES:
        raise InvalidInput(f"recurrence_rule.frequency: '{rule.frequency}' is not one of {', '.join(FREQUENCIES)}")
    unknown = [day for day in rule.weekdays if day not in WEEKDAYS]
    if unknown:
        raise InvalidInput(f"recurrence_rule.weekdays: '{unknown[0]}' is not one of {', '.join(WEEKDAYS)}")
    if rule.interval < 1:
        raise InvalidInput("recurrence_rule.interval: must be at least 1")
    local_start = starts_at.astimezone(tz).replace(tzinfo=None)
    local_until = rule.until.astimezone(tz).replace(tzinfo=None)
    if local_until < local_start:
        raise InvalidInput("recurrence_rule.until: must not be before the first occurrence")
    expansion = rrule.rrule(
        FREQUENCIES[rule.frequency],
        dtstart=local_start,
        interval=rule.interval,
        byweekday=[WEEKDAYS[day] for day in rule.weekdays] or None,
        until=local_until,
    )
    local_times = list(islice(expansion, limit + 1))
    if len(local_times) > limit:
        raise Unprocessable(f"recurrence_rule: a series may have at most {limit} occurrences")
    if not local_times:
        raise Unprocessable("recurrence_rule: the rule yields no occurrence before until")
    return [local.replace(tzinfo=tz).astimezone(UTC) for local in local_times]


def series_create(
    *,
    service: Service,
    location: Location,
    starts_at: datetime,
    rule: RecurrenceRule,
    customers: list[Customer],
    actor: Actor,
    staff: StaffMember | None = None,
    merchant_note: str = "",
    source: str = "merchant",
) -> RecurringSeries:
    """Create the series and one booking per occurrence, or nothing at all.

    Every occurrence is tried inside a savepoint so that all conflicting start times can be
    reported together; if there is any, the whole series rolls back with a 409 listing them.
    """
    tz = location.tz
    starts = series_occurrences(
        rule=rule, starts_at=starts_at, tz=tz, limit=getattr(settings, "SERIES_MAX_OCCURRENCES", 366)
    )
    with transaction.atomic():
        series = RecurringSeries.objects.create(
            organization=service.organization,
            service=service,
            location=location,
            staff=staff,
            rrule=rule.as_rrule_string(tz),
            timezone=str(tz.key),
            # The naive local wall-clock time, stored as if it were UTC.
            dtstart_local=starts_at.astimezone(tz).replace(tzinfo=UTC),
            until=rule.until,
            merchant_note=merchant_note,
        )
        # Every occurrence's locks at once: one lock call for the whole series (see reservation.py).
        locks = locks_take(slots_locks(service=service, location=location, starts=starts, staff=staff))
        conflicts: list[datetime] = []
        for occurrence in starts:
            try:
                with transaction.atomic():
                    booked = customers if service.is_group else customers[:1]
                    for customer in booked:
                        booking = booking_create(
                            service=service,
                            location=location,
                            starts_at=occurrence,
                            customer=customer,
                            actor=actor,
                            staff=staff,
                            source=source,
                            merchant_note=merchant_note,
                            series=series,
                            status=group_initial_status(service, len(booked)),
                            locks=locks,
                        )
                    session_confirm_on_quorum(session=booking, actor=actor)
            except Conflict:
                conflicts.append(occurrence)
            except Unprocessable as exc:
                raise Unprocessable(f"Occurrence {occurrence.isoformat()}: {exc.detail}") from exc
        if conflicts:
            listed = ", ".join(start.isoformat().replace("+00:00", "Z") for start in conflicts)
            raise Conflict(
                f"{len(conflicts)} occurrence(s) conflict with existing bookings: {listed}",
                extra={"conflicts": [start.isoformat().replace("+00:00", "Z") for start in conflicts]},
            )
    return series


def series_cancel(
    *, series: RecurringSeries, actor: Actor, from_booking: Booking | None = None, reason: str = ""
) -> RecurringSeries:
    """Cancel every active occurrence, or `from_booking` and every later one.

    Past cancellations stay as they are; nothing is deleted (invariant 4).
    """
    with transaction.atomic():
        series = RecurringSeries.objects.select_for_update().get(pk=series.pk)
        occurrences = series.bookings.filter(status__in=ACTIVE_STATUSES).order_by("starts_at")
        if from_booking is not None:
            occurrences = occurrences.filter(starts_at__gte=from_booking.starts_at)
        for booking in occurrences:
            booking_cancel(booking=booking, actor=actor, reason=reason or "Series cancelled")
        if from_booking is None:
            series.cancelled_at = timezone.now()
            series.save(update_fields=["cancelled_at"])
        elif series.until is None or series.until >= from_booking.starts_at:
            # The series now ends before the first cancelled occurrence.
            series.until = from_booking.starts_at - timedelta(seconds=1)
            series.save(update_fields=["until"])
        return series
