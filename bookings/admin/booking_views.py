"""The booking pages that change a booking: each validates its form, calls one service, and turns
a domain error (a taken slot, a closed time, a forbidden transition) into a form error or a
message, never a 500."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from bookings.admin.forms import BookingCreateForm, CancelForm, RescheduleForm, domain_message
from bookings.admin.tenancy import TenantAdmin
from bookings.admin.times import local_span
from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus
from bookings.services.actors import Actor
from bookings.services.bookings import booking_reschedule
from bookings.services.confirmations import booking_confirmation_resend
from bookings.services.status import booking_cancel, booking_transition, can_transition
from bookings.services.workspace_bookings import workspace_booking_create
from organizations.errors import DomainError

# The buttons of a booking's page: the status each sets, and what it says.
TRANSITIONS = [
    (BookingStatus.CONFIRMED, "Confirm"),
    (BookingStatus.COMPLETED, "Complete"),
    (BookingStatus.NO_SHOW, "No-show"),
]
TRANSITION_DONE = {
    BookingStatus.CONFIRMED: "confirmed",
    BookingStatus.COMPLETED: "completed",
    BookingStatus.NO_SHOW: "marked as a no-show",
}


class BookingViews(TenantAdmin):
    """The pages of BookingAdmin: the add page, and the pages and buttons of one booking."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/reschedule/", wrap(self.reschedule_view), name="bookings_booking_reschedule"),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="bookings_booking_cancel"),
            path(
                "<path:object_id>/status/<str:to_status>/", wrap(self.transition_view), name="bookings_booking_status"
            ),
            path("<path:object_id>/resend/", wrap(self.resend_view), name="bookings_booking_resend"),
            *super().get_urls(),
        ]

    # --- helpers ---------------------------------------------------------------------------

    def _booking(self, request, object_id) -> Booking:
        """The user's booking, or 404 (another tenant's booking is as missing as an unknown one)."""
        booking = self.get_object(request, object_id)
        if booking is None:
            raise Http404("Booking not found")
        return booking

    def _render(self, request, template: str, context: dict) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": self.model._meta, **context},
        )

    def _change_url(self, booking: Booking) -> str:
        return reverse("admin:bookings_booking_change", args=[booking.pk])

    @staticmethod
    def _actor(request) -> Actor:
        return Actor(user=request.user)

    # --- add -------------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        """Book for a customer: service, location, staff (or any free), customer (existing or new),
        a local date and a free (or typed) time; the services check the slot under their locks."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        booking_requested = request.method == "POST" and "_book" in request.POST
        if booking_requested:
            form = BookingCreateForm(request.POST, request=request)
        else:  # a first visit (perhaps from a free time of the calendar), or "show free times"
            source = request.POST if request.method == "POST" else request.GET
            initial = {k: v for k, v in source.items() if k in BookingCreateForm.base_fields}
            form = BookingCreateForm(initial=initial, request=request)
        if booking_requested and form.is_valid() and form.cleaned_data.get("starts_at") is not None:
            data = form.cleaned_data
            try:
                booking = workspace_booking_create(
                    service=data["service"],
                    location=data["location"],
                    starts_at=data["starts_at"],
                    customer=form.booking_customer(),
                    actor=self._actor(request),
                    staff=data.get("staff"),
                    party_size=data["party_size"],
                    notes=data.get("notes", ""),
                )
            except DomainError as exc:
                form.add_error(None, domain_message(exc.detail))
            else:
                when = local_span(booking.starts_at, booking.ends_at, booking.location.tz)
                messages.success(request, f"Booked {booking.service.name}, {when}: {booking.confirmation_number}.")
                return HttpResponseRedirect(self._change_url(booking))
        return self._render(
            request,
            "admin/bookings/booking/add.html",
            {"title": "Add booking", "form": form, "media": self.media + form.media, "add": True},
        )

    # --- change ----------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        booking = self.get_object(request, object_id)
        extra = {"show_save_and_add_another": False, **(extra_context or {})}
        if booking is not None:
            zone = booking.location.tz
            extra["subtitle"] = f"{booking.confirmation_number} · {booking.service.name} · " + local_span(
                booking.starts_at, booking.ends_at, zone
            )
            extra["transitions"] = [
                (status, label) for status, label in TRANSITIONS if can_transition(booking.status, status)
            ]
            extra["can_reschedule"] = booking.status in ACTIVE_STATUSES and not booking.is_group
            extra["can_cancel"] = can_transition(booking.status, BookingStatus.CANCELLED)
            extra["can_resend"] = booking.status in ACTIVE_STATUSES
            extra["join_url"] = None
            extra["original_local_date"] = f"{booking.starts_at.astimezone(booking.location.tz):%Y-%m-%d}"
            if booking.is_group and booking.status in ACTIVE_STATUSES:
                local = booking.starts_at.astimezone(booking.location.tz)
                extra["join_url"] = (
                    reverse("admin:bookings_booking_add")
                    + f"?service={booking.service_id}&location={booking.location_id}"
                    + f"&date={local:%Y-%m-%d}&time={local:%H:%M}"
                )
        return super().change_view(request, object_id, form_url, extra)

    def reschedule_view(self, request, object_id):
        booking = self._booking(request, object_id)
        if not self.has_change_permission(request, booking):
            raise PermissionDenied
        zone = booking.location.tz
        local = booking.starts_at.astimezone(zone)
        initial = {"date": request.GET.get("date") or local.date()}
        move_requested = request.method == "POST" and "_move" in request.POST
        if move_requested:
            form = RescheduleForm(request.POST, booking=booking)
        else:  # a first visit, or "show free times" for another date or staff member
            if request.method == "POST":
                initial = {k: v for k, v in request.POST.items() if k in RescheduleForm.base_fields}
            form = RescheduleForm(initial=initial, booking=booking)
        if move_requested and form.is_valid() and form.cleaned_data.get("starts_at") is not None:
            try:
                moved = booking_reschedule(
                    booking=booking,
                    starts_at=form.cleaned_data["starts_at"],
                    staff=form.cleaned_data.get("staff"),
                    actor=self._actor(request),
                )
            except DomainError as exc:
                form.add_error(None, domain_message(exc.detail))
            else:
                when = local_span(moved.starts_at, moved.ends_at, zone)
                messages.success(request, f"{moved.confirmation_number} moved to {when}.")
                return HttpResponseRedirect(self._change_url(moved))
        return self._render(
            request,
            "admin/bookings/booking/reschedule.html",
            {
                "title": f"Reschedule {booking.confirmation_number}",
                "booking": booking,
                "original": booking,
                "now_text": local_span(booking.starts_at, booking.ends_at, zone),
                "form": form,
            },
        )

    def cancel_view(self, request, object_id):
        booking = self._booking(request, object_id)
        if not self.has_change_permission(request, booking):
            raise PermissionDenied
        form = CancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                cancelled = booking_cancel(
                    booking=booking, actor=self._actor(request), reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                form.add_error(None, domain_message(exc.detail))
            else:
                messages.success(request, f"{cancelled.confirmation_number} is cancelled; its time is free again.")
                return HttpResponseRedirect(self._change_url(cancelled))
        return self._render(
            request,
            "admin/bookings/booking/cancel.html",
            {
                "title": f"Cancel {booking.confirmation_number}",
                "booking": booking,
                "original": booking,
                "when": local_span(booking.starts_at, booking.ends_at, booking.location.tz),
                "form": form,
            },
        )

    def transition_view(self, request, object_id, to_status):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        booking = self._booking(request, object_id)
        if not self.has_change_permission(request, booking) or to_status not in TRANSITION_DONE:
            raise PermissionDenied
        try:
            booking = booking_transition(booking=booking, to_status=to_status, actor=self._actor(request))
        except DomainError as exc:
            messages.error(request, domain_message(exc.detail))
        else:
            messages.success(request, f"{booking.confirmation_number} is {TRANSITION_DONE[to_status]}.")
        return HttpResponseRedirect(self._change_url(booking))

    def resend_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        booking = self._booking(request, object_id)
        if not self.has_change_permission(request, booking):
            raise PermissionDenied
        try:
            recipients = booking_confirmation_resend(booking=booking, actor=self._actor(request))
        except DomainError as exc:
            messages.error(request, domain_message(exc.detail))
        else:
            messages.success(request, format_html("Confirmation sent again to {}.", ", ".join(recipients)))
        return HttpResponseRedirect(self._change_url(booking))
