"""What a staff calendar draws: the bookings and active holds of one location over some days.

Two queries whatever the number of staff or days (the free slots come from the engine's
`find_slots`, itself a fixed number). Each entry carries what its block shows, so drawing it
reads nothing more.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from holds.models import Hold
from organizations.models import Location


@dataclass(frozen=True)
class CalendarEntry:
    kind: str  # "booking" or "hold"
    id: int
    staff_id: int | None
    starts_at: datetime
    ends_at: datetime
    status: str
    service: str
    who: str
    confirmation_number: str = ""


def calendar_entries(
    *,
    location: Location,
    start: datetime,
    end: datetime,
    staff_ids: list[int] | None = None,
    cancelled: bool = False,
    now: datetime | None = None,
) -> list[CalendarEntry]:
    """Bookings (not cancelled, unless `cancelled`) and active holds at `location` overlapping
    [start, end), of `staff_ids` when given, in time order."""
    now = now or timezone.now()
    bookings = Booking.objects.filter(location=location, starts_at__lt=end, ends_at__gt=start)
    holds = Hold.objects.filter(
        location=location, status=Hold.Status.ACTIVE, expires_at__gt=now, starts_at__lt=end, ends_at__gt=start
    )
    if not cancelled:
        bookings = bookings.exclude(status=BookingStatus.CANCELLED)
    if staff_ids is not None:
        bookings = bookings.filter(Q(staff_id__in=staff_ids) | Q(staff__isnull=True))
        holds = holds.filter(Q(staff_id__in=staff_ids) | Q(staff__isnull=True))
    entries = [
        CalendarEntry(
            kind="booking",
            id=row["id"],
            staff_id=row["staff_id"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            status=row["status"],
            service=row["service__name"],
            who=(
                f"{row['party_size']} seat(s)"
                if row["is_group"]
                else row["contact_name"]
                or " ".join(filter(None, [row["customer__first_name"], row["customer__last_name"]]))
            ),
            confirmation_number=row["confirmation_number"],
        )
        for row in bookings.order_by().values(
            "id",
            "staff_id",
            "starts_at",
            "ends_at",
            "status",
            "service__name",
            "contact_name",
            "customer__first_name",
            "customer__last_name",
            "is_group",
            "party_size",
            "confirmation_number",
        )
    ]
    entries += [
        CalendarEntry(
            kind="hold",
            id=row["id"],
            staff_id=row["staff_id"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            status="held",
            service=row["service__name"],
            who="booking in progress",
        )
        for row in holds.order_by().values("id", "staff_id", "starts_at", "ends_at", "service__name")
    ]
    return sorted(entries, key=lambda e: (e.starts_at, e.kind, e.id))
