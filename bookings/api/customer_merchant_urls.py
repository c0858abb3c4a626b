"""Mounted at /bookings/ (see bookings/urls.py)."""

from django.urls import path

from bookings.api.customer_merchant import CustomerBookingView, MerchantBookingView

urlpatterns = [
    path("customer", CustomerBookingView.as_view(), name="bookings-customer"),
    path("merchant", MerchantBookingView.as_view(), name="bookings-merchant"),
]
