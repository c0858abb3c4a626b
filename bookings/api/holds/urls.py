"""The holds API under /api/v1/: session tokens, holds, bookings made from holds (show, change, cancel)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from bookings.api.holds.bookings import BookingViewSet
from bookings.api.holds.holds import HoldCreateView, HoldDetailView
from bookings.api.holds.sessions import SessionTokenCreateView

router = SimpleRouter(trailing_slash=False)
router.register("bookings", BookingViewSet, basename="booking")

urlpatterns = [
    path("sessions", SessionTokenCreateView.as_view(), name="session-create"),
    # Holds first: `bookings/hold` must not be read as a booking id.
    path("bookings/hold", HoldCreateView.as_view(), name="hold-create"),
    path("bookings/hold/<uuid:hold_id>", HoldDetailView.as_view(), name="hold-detail"),
    *router.urls,
]
