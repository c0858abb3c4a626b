"""Every surface of the platform, mounted at the paths its contract names."""

from django.urls import include, path, re_path

from bookings.api.errors import not_found
from bookings.pages.urls import deposit_urlpatterns
from bookings.payments.urls import webhook_urlpatterns

urlpatterns = [
    *webhook_urlpatterns,
    path("", include("bookings.api.urls")),
    # Where Stripe Checkout sends a customer back after a deposit (customer pages, `payments:` names).
    path("payments/", include((deposit_urlpatterns, "payments"))),
    # Anything else under the API prefixes answers JSON, never an HTML page (DEBUG or not).
    re_path(r"^(?:api|bookings)(?:/|$)", not_found, name="api-not-found"),
    # The customer pages: `/`, `/book/<org>/`, `/manage-booking`.
    path("", include("bookings.pages.urls")),
]
