"""Public booking API, under /api/calendar/v1/public/ (availability is mounted by bookings/urls.py)."""

from django.urls import path

from bookings.api.public.views import PublicBookingCreateView, PublicBookingInviteView, PublicBookingLookupView

urlpatterns = [
    path("bookings", PublicBookingCreateView.as_view(), name="public-booking-create"),
    path(
        "bookings/confirmation/<str:confirmation_number>",
        PublicBookingLookupView.as_view(),
        name="public-booking-lookup",
    ),
    path("bookings/<str:booking_id>/invite.ics", PublicBookingInviteView.as_view(), name="public-booking-invite"),
]
