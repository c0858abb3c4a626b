"""Public booking API, under /api/calendar/v1/public/: availability, create, lookup, invite."""

from django.urls import path

from bookings.api.public.availability import PublicAvailabilityView
from bookings.api.public.self_service import SelfCancelView, SelfRescheduleView
from bookings.api.public.views import PublicBookingCreateView, PublicBookingInviteView, PublicBookingLookupView

urlpatterns = [
    path("availability", PublicAvailabilityView.as_view(), name="public-availability"),
    path("bookings", PublicBookingCreateView.as_view(), name="public-booking-create"),
    path(
        "bookings/confirmation/<str:confirmation_number>",
        PublicBookingLookupView.as_view(),
        name="public-booking-lookup",
    ),
    path("bookings/confirmation/<str:confirmation_number>/cancel", SelfCancelView.as_view(), name="public-self-cancel"),
    path(
        "bookings/confirmation/<str:confirmation_number>/reschedule",
        SelfRescheduleView.as_view(),
        name="public-self-reschedule",
    ),
    path("bookings/<str:booking_id>/invite.ics", PublicBookingInviteView.as_view(), name="public-booking-invite"),
]
