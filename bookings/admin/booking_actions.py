"""Bulk actions on the bookings list: each booking through its service, one at a time, and a CSV
export in local time. Django's "delete selected" is not offered: bookings are cancelled, never
deleted."""

import csv

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from bookings.admin.forms import CancelForm, domain_message
from bookings.admin.tenancy import TenantAdmin
from bookings.admin.times import local_span
from bookings.models import Booking, BookingStatus
from bookings.services.actors import Actor
from bookings.services.status import booking_cancel, booking_transition
from organizations.errors import DomainError

CSV_COLUMNS = [
    "confirmation_number",
    "status",
    "service",
    "location",
    "staff",
    "customer",
    "email",
    "phone",
    "party_size",
    "date",
    "start",
    "end",
    "time_zone",
    "deposit",
    "payment_status",
    "notes",
    "cancelled_at",
    "cancellation_reason",
]


def booking_csv_row(booking: Booking) -> list[str]:
    zone = booking.location.tz
    start, end = booking.starts_at.astimezone(zone), booking.ends_at.astimezone(zone)
    cancelled = booking.cancelled_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if booking.cancelled_at else ""
    return [
        booking.confirmation_number,
        booking.status,
        booking.service.name,
        booking.location.name,
        booking.staff.name if booking.staff is not None else "",
        booking.contact_name,
        booking.contact_email,
        booking.contact_phone,
        str(booking.party_size),
        f"{start:%Y-%m-%d}",
        f"{start:%H:%M}",
        f"{end:%H:%M}",
        zone.key,
        f"{booking.deposit_minor / 100:.2f}" if booking.deposit_minor else "",
        booking.payment_status,
        booking.notes,
        cancelled,
        booking.cancellation_reason,
    ]


class BookingActions(TenantAdmin):
    """The actions of BookingAdmin."""

    actions = ("cancel_with_reason", "confirm_selected", "complete_selected", "no_show_selected", "export_csv")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _each(self, request, queryset, change, done: str) -> None:
        """Apply `change` to each booking through its service; say what was done and what was refused."""
        changed, refused = [], []
        for booking in queryset.order_by("starts_at"):
            try:
                change(booking)
            except DomainError as exc:
                refused.append(f"{booking.confirmation_number} ({domain_message(exc.detail)})")
            else:
                changed.append(booking.confirmation_number)
        if changed:
            messages.success(request, f"{len(changed)} booking(s) {done}: {', '.join(changed)}.")
        if refused:
            messages.error(request, f"{len(refused)} booking(s) could not be {done}: {'; '.join(refused)}.")

    def _transition(self, request, queryset, to_status: str, done: str) -> None:
        actor = Actor(user=request.user)
        self._each(request, queryset, lambda b: booking_transition(booking=b, to_status=to_status, actor=actor), done)

    @admin.action(description="Cancel selected bookings (with a reason)")
    def cancel_with_reason(self, request, queryset):
        form = CancelForm(request.POST if "post" in request.POST else None)
        if form.is_bound and form.is_valid():
            actor, reason = Actor(user=request.user), form.cleaned_data["reason"]
            self._each(request, queryset, lambda b: booking_cancel(booking=b, actor=actor, reason=reason), "cancelled")
            return None
        bookings = list(queryset.select_related("service", "location__organization").order_by("starts_at"))
        return TemplateResponse(
            request,
            "admin/bookings/booking/cancel_selected.html",
            {
                **self.admin_site.each_context(request),
                "title": "Cancel bookings",
                "opts": self.model._meta,
                "form": form,
                "bookings": [(b, local_span(b.starts_at, b.ends_at, b.location.tz)) for b in bookings],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Confirm selected bookings")
    def confirm_selected(self, request, queryset):
        self._transition(request, queryset, BookingStatus.CONFIRMED, "confirmed")

    @admin.action(description="Mark selected bookings completed")
    def complete_selected(self, request, queryset):
        self._transition(request, queryset, BookingStatus.COMPLETED, "completed")

    @admin.action(description="Mark selected bookings as no-shows")
    def no_show_selected(self, request, queryset):
        self._transition(request, queryset, BookingStatus.NO_SHOW, "marked as no-shows")

    @admin.action(description="Export selected bookings as CSV (local time)")
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="bookings-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        rows = queryset.select_related("service", "staff", "location__organization").order_by("starts_at")
        for booking in rows:
            writer.writerow(booking_csv_row(booking))
        return response
