"""Every booking surface, mounted at the paths its contract names."""

from django.urls import include, path

from bookings.api.availability import PublicAvailabilityView

urlpatterns = [
    path("api/calendar/v1/public/availability", PublicAvailabilityView.as_view(), name="public-availability"),
    # Public booking API (x-kordless-key): availability, create, lookup, invite.
    path("api/calendar/v1/public/", include("bookings.api.public.urls")),
    # Customer and merchant booking API (Bearer customer / business keys).
    path("bookings/", include("bookings.api.customer_merchant_urls")),
    # Holds API and the resource API (Bearer keys).
    path("api/v1/", include("bookings.api.v1.urls")),
    # Where Stripe Checkout sends a customer back after a deposit.
    path("payments/", include("bookings.payment_urls")),
]
