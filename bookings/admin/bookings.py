"""Bookings in the workspace: listed and filtered in local time, changed only through the services.

Nothing here saves a booking row: the add page, reschedule, cancel (with a reason), confirm,
complete, no-show and resend-confirmation call bookings.services (booking_views.py), and so
does the one field the change page edits (the notes). Bookings are never deleted.
"""

from datetime import datetime

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from bookings.admin import booking_actions, booking_views
from bookings.admin.filters import LocalDateFilter, WhenFilter
from bookings.admin.tenancy import EVERYONE, OWNERS, TenantAdmin, has_role
from bookings.admin.times import local_span, local_text
from bookings.models import Booking
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


def _value(value, zone) -> str:
    """An audit value as a merchant reads it: times of a move in local time."""
    if value is None:
        return ""
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if key.endswith("_at") and isinstance(item, str):
                try:
                    item = local_text(datetime.fromisoformat(item), zone)
                except ValueError:
                    pass
            parts.append(f"{key}: {item}")
        return ", ".join(parts)
    return str(value)


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
    change_form_template = "admin/bookings/booking/change_form.html"
    change_list_template = "admin/bookings/booking/change_list.html"
    save_as = False
    fieldsets = [
        (None, {"fields": ["confirmation_number", "status_column", "service", "location", "staff", "customer"]}),
        ("When (local time)", {"fields": ["local_start", "local_end", "party_size"]}),
        ("Contact", {"fields": ["contact_name", "contact_email", "contact_phone"]}),
        ("Participants", {"fields": ["participants_table"]}),
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
        ("History (audit trail)", {"fields": ["history_table"]}),
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

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not obj.is_group:
            return [fieldset for fieldset in self.fieldsets if fieldset[0] != "Participants"]
        return self.fieldsets

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

    @admin.display(description="Who takes part")
    def participants_table(self, booking: Booking):
        # Shown, never edited here: joining and leaving are services (participant_join/leave).
        rows = booking.participants.select_related("customer").order_by("id")
        if not rows:
            return "Nobody yet."
        return format_html(
            "<table><thead><tr><th>Customer</th><th>Email</th><th>Seats</th><th>Status</th><th>Note</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
                (
                    (
                        reverse("admin:organizations_customer_change", args=[p.customer_id]),
                        p.customer,
                        p.customer.email,
                        p.party_size,
                        p.get_status_display(),
                        p.note,
                    )
                    for p in rows
                ),
            ),
        )

    @admin.display(description="Changes")
    def history_table(self, booking: Booking):
        zone = booking.location.tz
        events = booking.events.order_by("id")
        return format_html(
            "<table><thead><tr><th>When</th><th>What</th><th>Who</th><th>From</th><th>To</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        local_text(e.created_at, zone),
                        e.action,
                        e.actor,
                        _value(e.from_value, zone),
                        _value(e.to_value, zone),
                    )
                    for e in events
                ),
            ),
        )

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
