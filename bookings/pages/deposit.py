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
        # The Checkout Session's id is the credential: Stripe hands it to the payer alone, in this URL
        # (whichever surface booked: these pages, a widget on the holds API, the public API).
        booking = booking_by_checkout_session(request.GET.get("session_id", "").strip())
        if booking is None:
            context = {"booking": None, "deposit_confirmed": False, "reload_seconds": 0}
            return render_in_zone(request, "pages/deposit_paid.html", context, zone="UTC")
        confirmed = booking.payment_status == Booking.PaymentStatus.PAID
        return render_confirmation(
            request,
            booking,
            template="pages/deposit_paid.html",
            extra={"deposit_confirmed": confirmed, "reload_seconds": 0 if confirmed else RELOAD_SECONDS},
        )


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
