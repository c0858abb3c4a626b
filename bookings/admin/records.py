"""What the services wrote: participants, series and the audit trail (view only, for owners and
staff), and the platform's internal tables (superusers only)."""

from django.contrib import admin

from bookings.admin.tenancy import EVERYONE, TenantAdmin
from bookings.admin.times import local_text
from bookings.models import (
    BookingEvent,
    IdempotencyRecord,
    OutboundEmail,
    Participant,
    RecurringSeries,
    StripeEvent,
    WebhookAttempt,
    WebhookEvent,
)


@admin.register(Participant)
class ParticipantAdmin(TenantAdmin):
    roles = EVERYONE
    read_only = True
    list_display = ["customer", "booking", "party_size", "status"]
    list_filter = ["status"]
    search_fields = ["customer__email", "customer__first_name", "customer__last_name", "booking__confirmation_number"]
    list_select_related = ["customer", "booking__service"]


@admin.register(RecurringSeries)
class RecurringSeriesAdmin(TenantAdmin):
    roles = EVERYONE
    read_only = True
    list_display = ["service", "rrule", "timezone", "dtstart_local", "until", "cancelled_at"]
    search_fields = ["service__name", "rrule"]
    list_select_related = ["service"]


@admin.register(BookingEvent)
class BookingEventAdmin(TenantAdmin):
    roles = EVERYONE
    read_only = True
    list_display = ["when", "booking", "action", "actor"]
    list_filter = ["action"]
    search_fields = ["booking__confirmation_number", "actor"]
    list_select_related = ["booking__location__organization", "booking__service"]

    @admin.display(description="When (local time)", ordering="created_at")
    def when(self, event: BookingEvent) -> str:
        return local_text(event.created_at, event.booking.location.tz)


class InternalAdmin(TenantAdmin):
    """Raw tables the platform keeps for itself."""

    superuser_only = True
    read_only = True


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(InternalAdmin):
    list_display = ["key", "api_key", "status_code", "created_at"]
    search_fields = ["key"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(InternalAdmin):
    list_display = ["uuid", "type", "organization", "created_at"]
    list_filter = ["type"]
    search_fields = ["uuid", "type"]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(InternalAdmin):
    list_display = ["attempted_at", "delivery", "status_code", "duration_ms", "error"]
    search_fields = ["error"]


@admin.register(StripeEvent)
class StripeEventAdmin(InternalAdmin):
    list_display = ["event_id", "type", "processed_at"]
    search_fields = ["event_id", "type"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(InternalAdmin):
    """The email outbox, for operators: what was sent, what is retried, every attempt."""

    list_display = ["id", "kind", "to", "subject", "status", "attempt_count", "next_attempt_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["subject", "to", "booking__confirmation_number", "last_error"]
    list_select_related = ["booking"]
