"""Customers, for owners and staff: their details and notes, their bookings upcoming and past, and
how often they cancelled or did not come."""

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from bookings.admin.bookings import status_badge
from bookings.admin.tenancy import EVERYONE, OWNERS, TenantAdmin, is_superuser, organization_ids
from bookings.admin.times import local_span
from bookings.models import Booking, BookingStatus, Participant
from organizations.models import Customer

SHOWN = 25  # bookings listed in each of "upcoming" and "past"
PANELS = ["history", "upcoming", "past"]


def customer_bookings(customer: Customer):
    """What the customer booked, and the group sessions they take part in."""
    joined = Participant.objects.filter(customer=customer).values("booking_id")
    return Booking.objects.filter(Q(customer=customer) | Q(pk__in=joined), organization_id=customer.organization_id)


@admin.register(Customer)
class CustomerAdmin(TenantAdmin):
    roles = EVERYONE
    list_display = ["full_name", "email", "phone", "organization", "created_at"]
    search_fields = ["first_name", "last_name", "email", "phone"]
    list_select_related = ["organization"]

    def get_fields(self, request, obj=None):
        fields = ["organization", "first_name", "last_name", "email", "phone", "notes"]
        return fields + PANELS if obj is not None else fields

    def get_readonly_fields(self, request, obj=None):
        # A customer stays in their organization: their bookings are there.
        return ["organization", *PANELS] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Owners may delete a customer who never booked (bookings protect the others); staff may not.
        if is_superuser(request):
            return True
        owned = organization_ids(request, OWNERS)
        if obj is not None:
            return obj.organization_id in owned
        return bool(owned) and owned == organization_ids(request, EVERYONE)

    @admin.display(description="History")
    def history(self, customer: Customer) -> str:
        counts = customer_bookings(customer).aggregate(
            total=Count("id", distinct=True),
            cancelled=Count("id", filter=Q(status=BookingStatus.CANCELLED), distinct=True),
            no_shows=Count("id", filter=Q(status=BookingStatus.NO_SHOW), distinct=True),
            completed=Count("id", filter=Q(status=BookingStatus.COMPLETED), distinct=True),
        )
        return (
            f"{counts['total']} booking(s): {counts['completed']} completed, "
            f"{counts['cancelled']} cancellation(s), {counts['no_shows']} no-show(s)"
        )

    @admin.display(description="Upcoming bookings")
    def upcoming(self, customer: Customer):
        rows = customer_bookings(customer).filter(starts_at__gte=timezone.now()).order_by("starts_at")
        return self._table(rows)

    @admin.display(description="Past bookings")
    def past(self, customer: Customer):
        rows = customer_bookings(customer).filter(starts_at__lt=timezone.now()).order_by("-starts_at")
        return self._table(rows)

    @staticmethod
    def _table(rows):
        bookings = list(rows.select_related("service", "staff", "location__organization")[: SHOWN + 1])
        if not bookings:
            return "None"
        more = len(bookings) > SHOWN
        body = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:bookings_booking_change", args=[b.pk]),
                    b.confirmation_number,
                    local_span(b.starts_at, b.ends_at, b.location.tz),
                    b.service.name,
                    b.staff.name if b.staff_id else "-",
                    status_badge(b),
                    b.notes or b.customer_note or "",
                )
                for b in bookings[:SHOWN]
            ),
        )
        return format_html(
            "<table><thead><tr><th>Booking</th><th>When (local time)</th><th>Service</th><th>Staff</th>"
            "<th>Status</th><th>Notes</th></tr></thead><tbody>{}</tbody></table>{}",
            body,
            format_html("<p>Only the {} nearest are listed.</p>", SHOWN) if more else "",
        )
