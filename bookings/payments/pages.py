"""The pages Stripe Checkout sends a customer back to after paying (or not) a deposit."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bookings.models import Booking


def payment_success(request: HttpRequest) -> HttpResponse:
    """Shown after payment. The booking is confirmed by Stripe's webhook, which may lag a moment."""
    session_id = request.GET.get("session_id", "")
    booking = (
        Booking.objects.select_related("service", "location").filter(stripe_checkout_session_id=session_id).first()
        if session_id
        else None
    )
    return render(request, "payments/success.html", {"booking": booking})


def payment_cancelled(request: HttpRequest) -> HttpResponse:
    """Shown when the customer leaves Checkout: the slot stays reserved until the session expires."""
    return render(request, "payments/cancelled.html", {"reference": request.GET.get("booking", "")[:40]})
