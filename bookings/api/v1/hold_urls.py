from django.urls import path

from bookings.api.v1.holds import HoldCreateView, HoldDetailView

urlpatterns = [
    path("bookings/hold", HoldCreateView.as_view(), name="hold-create"),
    path("bookings/hold/<uuid:hold_id>", HoldDetailView.as_view(), name="hold-detail"),
]
