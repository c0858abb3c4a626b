"""Where Stripe Checkout sends a customer back after a deposit: paid (`/payments/success`) or not
(`/payments/cancelled`). These URLs are in every Checkout Session made (bookings.payments.checkout),
so they keep their paths and names (`payments:success`, `payments:cancelled`).

The booking is confirmed by Stripe's webhook, which may lag the customer by a moment: until it has
arrived the paid page says the payment is being confirmed and reloads itself (no JavaScript).
"""

from django.utils.translation import gettext as _

from bookings.models import Booking, BookingStatus
from bookings.pages.booking_flow import render_confirmation
from bookings.pages.common import Page, render_in_zone, session_owns_booking
from bookings.selectors import booking_by_checkout_session, booking_by_public_id
from organizations.errors import NotFound

RELOAD_SECONDS = 5


class DepositPaid(Page):
    def get(self, request):
        booking = booking_by_checkout_session(request.GET.get("session_id", "").strip())
        confirmed = booking is not None and booking.payment_status == Booking.PaymentStatus.PAID
        if booking is not None and session_owns_booking(request, booking.public_id):
            return render_confirmation(
                request,
                booking,
                template="pages/deposit_paid.html",
                extra={"deposit_confirmed": confirmed, "reload_seconds": 0 if confirmed else RELOAD_SECONDS},
            )
        # Another browser (or none): say what happened, show nothing of the booking.
        context = {"booking": None, "deposit_confirmed": confirmed, "reload_seconds": 0}
        zone = booking.timezone if booking is not None else "UTC"
        return render_in_zone(request, "pages/deposit_paid.html", context, zone=zone)


class DepositNotPaid(Page):
    def get(self, request):
        reference = request.GET.get("booking", "").strip()[:40]
        booking = None
        if reference and session_owns_booking(request, reference.lower()):
            try:
                booking = booking_by_public_id(reference)
            except NotFound:
                booking = None
        awaiting = (
            booking is not None
            and booking.status == BookingStatus.PENDING
            and booking.payment_status == Booking.PaymentStatus.REQUIRED
            and bool(booking.payment_redirect_url)
        )
        context = {
            "booking": booking,
            "reference": reference.upper() if reference else "",
            "awaiting": awaiting,
            "title": _("The deposit was not paid"),
        }
        zone = booking.timezone if booking is not None else "UTC"
        return render_in_zone(request, "pages/deposit_cancelled.html", context, zone=zone)
