"""Every API surface, mounted at the paths its contract names (a package per contract)."""

from django.urls import include, path

from bookings.api import schema  # noqa: F401  (registers the key auth schemes with drf-spectacular)

urlpatterns = [
    # Public booking API (x-kordless-key): availability, create, lookup, invite.
    path("api/calendar/v1/public/", include("bookings.api.public.urls")),
    # Customer and merchant booking API (Bearer customer / business keys).
    path("bookings/", include("bookings.api.customer_merchant.urls")),
    # Holds API (Bearer session, business or hub keys), then the merchant resource API.
    path("api/v1/", include("bookings.api.holds.urls")),
    path("api/v1/", include("bookings.api.resources.urls")),
]
