"""Bookings in the workspace: listed and filtered in local time, changed only through the services.

Nothing here saves a booking row: the add page, reschedule, cancel (with a reason), confirm,
complete, no-show and resend-confirmation call bookings.services (booking_views.py), and so
does the one field the change page edits (the notes). Bookings are never deleted.
"""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from bookings.admin import booking_actions, booking_views
from bookings.admin.filters import LocalDateFilter, WhenFilter
from bookings.admin.tenancy import EVERYONE, OWNERS, TenantAdmin, TenantInline, has_role
from bookings.admin.times import local_span, local_text
from bookings.models import Booking, BookingEvent, Participant
from bookings.services.actors import Actor
from bookings.services.booking_changes import booking_update

STATUS_COLOURS = {
    "pending": "#8a6d00",
    "confirmed": "#1d6b33",
    "in_progress": "#1f4e96",
    "completed": "#4b5563",
    "cancelled": "#a11d1d",
    "no_show": "#7a3b00",
}


def status_badge(booking: Booking):
    return format_html(
        '<span class="booking-status" style="background:{}">{}</span>',
        STATUS_COLOURS.get(booking.status, "#333"),
        booking.get_status_display(),
    )


class ParticipantInline(TenantInline):
    """Who takes part in a class: shown, never edited here (joining and leaving are services)."""

    model = Participant
    fields = ["customer", "party_size", "status", "note", "left_at"]
    readonly_fields = fields


class BookingEventInline(TenantInline):
    """The audit trail: who changed what, when (local time)."""

    model = BookingEvent
    fields = ["local_created", "action", "actor", "from_value", "to_value"]
    readonly_fields = fields
    verbose_name_plural = "History (audit trail)"

    @admin.display(description="When")
    def local_created(self, event: BookingEvent) -> str:
        return local_text(event.created_at, event.booking.location.tz)


@admin.register(Booking)
class BookingAdmin(booking_actions.BookingActions, booking_views.BookingViews, TenantAdmin):
    roles = EVERYONE
    list_display = ["confirmation_number", "when", "service", "staff", "who", "status_column", "payment"]
    list_filter = [WhenFilter, LocalDateFilter, "status", "staff", "service", "location", "payment_status"]
    search_fields = [
        "confirmation_number",
        "contact_name",
        "contact_email",
        "contact_phone",
        "customer__first_name",
        "customer__last_name",
        "customer__email",
        "customer__phone",
    ]
    search_help_text = "Confirmation number, customer name, email or phone."
    list_select_related = ["service", "staff", "location__organization", "customer", "organization"]
    ordering = ["-starts_at"]
    inlines = [ParticipantInline, BookingEventInline]
    change_form_template = "admin/bookings/booking/change_form.html"
    change_list_template = "admin/bookings/booking/change_list.html"
    save_as = False
    fieldsets = [
        (None, {"fields": ["confirmation_number", "status_column", "service", "location", "staff", "customer"]}),
        ("When (local time)", {"fields": ["local_start", "local_end", "party_size"]}),
        ("Contact", {"fields": ["contact_name", "contact_email", "contact_phone"]}),
        ("Notes", {"fields": ["notes", "customer_note", "merchant_note", "answers"]}),
        ("Deposit", {"fields": ["deposit", "payment_status", "stripe_checkout_session_id"]}),
        ("Cancellation", {"fields": ["local_cancelled", "cancellation_reason"]}),
        (
            "Internal",
            {
                "classes": ["collapse"],
                "fields": [
                    "public_id",
                    "uuid",
                    "source",
                    "created_by_key",
                    "hold",
                    "series",
                    "team",
                    "is_group",
                    "local_blocked",
                    "timezone",
                    "sequence",
                    "payment_redirect_url",
                    "local_created",
                ],
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Everything but the notes: times, status and payment change only through the services.
        names = [name for _title, options in self.fieldsets for name in options["fields"]]
        return [name for name in names if name != "notes"]

    def has_delete_permission(self, request, obj=None):
        return False  # cancel instead: nothing is lost (invariant 4)

    def changelist_view(self, request, extra_context=None):
        extra = {"show_reports": has_role(request, OWNERS), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def save_model(self, request, obj, form, change):
        if change and "notes" in form.changed_data:
            booking_update(booking=Booking.objects.get(pk=obj.pk), actor=Actor(user=request.user), notes=obj.notes)

    def save_related(self, request, form, formsets, change):
        pass  # the inlines are views of what the services wrote

    # --- columns -------------------------------------------------------------------------

    @admin.display(description="When (local time)", ordering="starts_at")
    def when(self, booking: Booking) -> str:
        return local_span(booking.starts_at, booking.ends_at, booking.location.tz)

    @admin.display(description="Customer")
    def who(self, booking: Booking) -> str:
        if booking.is_group:
            return f"Class: {booking.party_size} seat(s) taken"
        return booking.contact_name or str(booking.customer or "-")

    @admin.display(description="Status", ordering="status")
    def status_column(self, booking: Booking):
        return status_badge(booking)

    @admin.display(description="Deposit")
    def payment(self, booking: Booking) -> str:
        if not booking.deposit_minor:
            return "-"
        return (
            f"{booking.deposit_minor / 100:.2f} {booking.organization.currency}: {booking.get_payment_status_display()}"
        )

    deposit = payment

    @admin.display(description="Starts")
    def local_start(self, booking: Booking) -> str:
        return local_text(booking.starts_at, booking.location.tz)

    @admin.display(description="Ends")
    def local_end(self, booking: Booking) -> str:
        return local_text(booking.ends_at, booking.location.tz)

    @admin.display(description="Blocked (with buffers)")
    def local_blocked(self, booking: Booking) -> str:
        return local_span(booking.blocked_start, booking.blocked_end, booking.location.tz)

    @admin.display(description="Cancelled at")
    def local_cancelled(self, booking: Booking) -> str:
        return local_text(booking.cancelled_at, booking.location.tz)

    @admin.display(description="Created at")
    def local_created(self, booking: Booking) -> str:
        return local_text(booking.created_at, booking.location.tz)

    @admin.display(description="Answers to the service's questions")
    def answers(self, booking: Booking):
        values = booking.custom_field_values or []
        if not values:
            return "-"
        return format_html_join(
            "",
            "<div>{}: {}</div>",
            ((v.get("key", "?"), v.get("value", "")) for v in values if isinstance(v, dict)),
        )
