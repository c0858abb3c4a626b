from django.urls import include, path

urlpatterns = [
    # Holds first: `bookings/hold` must not be read as a booking id.
    path("", include("bookings.api.v1.hold_urls")),
    path("", include("bookings.api.v1.booking_urls")),
    path("", include("bookings.api.v1.resource_urls")),
]
