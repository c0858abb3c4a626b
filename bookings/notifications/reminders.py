"""Reminder emails, once per booking (and per class participant) at each of the organization's lead times.

`Organization.reminder_lead_minutes` (default 1440: 24 hours; 0 turns reminders off) and optionally
`second_reminder_lead_minutes` (e.g. 120). A reminder is due once the start is that close. Nothing
is stored ahead of time: each pass of `manage.py send_reminders` asks which confirmed bookings have
one due and not yet written, so a booking that moves is simply due again at its new time, and a
cancelled one never is.

- None for bookings made (or last moved) inside the lead time, nor for participants who joined
  inside it: they have just been told. Only confirmed bookings are reminded.
- When two lead times are due at once (the worker was down), only the shorter one is sent.
- Never twice: each reminder's outbox row has a unique key (booking, participant, lead time, start),
  inserted with ON CONFLICT DO NOTHING, so two processes racing write one row, and the outbox's
  claims send it once. A reminder still pending when its booking moves or is cancelled is dropped
  by the outbox instead of being sent (bookings.notifications.outbox).
"""

from datetime import datetime, timedelta

from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings.models import Booking, BookingEvent, BookingStatus, OutboundEmail
from bookings.notifications.content import booking_recipients, reminder_rendered
from bookings.notifications.outbox import outbox_row
from organizations.models import Organization

REMINDER = OutboundEmail.Kind.REMINDER


def organization_reminder_leads(organization: Organization) -> list[int]:
    """Its lead times in minutes, shortest first (none when reminders are off)."""
    leads = (organization.reminder_lead_minutes, organization.second_reminder_lead_minutes)
    return sorted({lead for lead in leads if lead})


def reminder_key(booking: Booking, participant_id: int | None, lead_minutes: int) -> str:
    return f"reminder:{booking.pk}:{participant_id or 0}:{lead_minutes}:{int(booking.starts_at.timestamp())}"


def _leads_by_organization() -> dict[int, list[int]]:
    rows = Organization.objects.filter(Q(reminder_lead_minutes__gt=0) | Q(second_reminder_lead_minutes__gt=0))
    return {
        org.pk: organization_reminder_leads(org)
        for org in rows.only("id", "reminder_lead_minutes", "second_reminder_lead_minutes")
    }


def _due(lead_minutes: int, organization_ids: list[int], now: datetime) -> QuerySet[Booking]:
    """Confirmed bookings whose reminder at this lead is due: starting within it, scheduled before it
    began, and with no reminder of this lead (or a shorter one) written for this start."""
    lead = timedelta(minutes=lead_minutes)
    last_moved = BookingEvent.objects.filter(booking=OuterRef("pk"), action="rescheduled").order_by("-id")
    reminded = OutboundEmail.objects.filter(
        booking=OuterRef("pk"),
        kind=REMINDER,
        booking_starts_at=OuterRef("starts_at"),
        reminder_lead_minutes__lte=lead_minutes,
    )
    return (
        Booking.objects.filter(
            organization_id__in=organization_ids,
            status=BookingStatus.CONFIRMED,
            starts_at__gt=now,
            starts_at__lte=now + lead,
            # Implied by the line above (a booking's blocked interval starts no later than it does),
            # and what lets the (organization, status, blocked_start) index bound the scan.
            blocked_start__lte=now + lead,
        )
        .alias(
            scheduled_at=Coalesce(
                Subquery(last_moved.values("created_at")[:1]), F("created_at"), output_field=DateTimeField()
            )
        )
        .filter(scheduled_at__lte=F("starts_at") - lead)
        .exclude(Exists(reminded))
        .select_related("organization", "service", "location")
    )


def reminders_due(*, now: datetime) -> list[OutboundEmail]:
    """The reminder rows due at `now`, rendered, not saved."""
    leads_by_org = _leads_by_organization()
    orgs_by_lead: dict[int, list[int]] = {}
    for org_id, leads in leads_by_org.items():
        for lead in leads:
            orgs_by_lead.setdefault(lead, []).append(org_id)
    # The shortest due lead of each booking (a longer one due too is overtaken by it).
    chosen: dict[int, tuple[int, Booking]] = {}
    for lead, org_ids in sorted(orgs_by_lead.items(), reverse=True):
        for booking in _due(lead, org_ids, now):
            chosen[booking.pk] = (lead, booking)
    rows = []
    for lead, booking in chosen.values():
        cutoff = booking.starts_at - timedelta(minutes=lead)
        for participant in booking_recipients(booking):
            if participant is not None and participant.created_at > cutoff:
                continue  # joined inside the lead time: their confirmation is fresh
            row = outbox_row(booking=booking, rendered=reminder_rendered(booking, participant), now=now)
            row.reminder_lead_minutes = lead
            row.dedupe_key = reminder_key(booking, participant.pk if participant else None, lead)
            rows.append(row)
    return rows


def _insert(rows: list[OutboundEmail]) -> None:
    # ON CONFLICT DO NOTHING: another process that wrote the same reminder first wins, silently.
    OutboundEmail.objects.bulk_create(rows, ignore_conflicts=True)


def reminders_queue(*, now: datetime | None = None) -> int:
    """Write every reminder due at `now` to the outbox; returns how many this call added (a row
    another process wrote first is not counted: its Message-ID is not one of ours)."""
    now = now or timezone.now()
    rows = reminders_due(now=now)
    if not rows:
        return 0
    _insert(rows)
    return OutboundEmail.objects.filter(message_id__in=[row.message_id for row in rows]).count()
