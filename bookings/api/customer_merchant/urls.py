"""Customer and merchant booking API, mounted at /bookings/."""

from django.urls import path

from bookings.api.customer_merchant.views import CustomerBookingView, MerchantBookingView

urlpatterns = [
    path("customer", CustomerBookingView.as_view(), name="bookings-customer"),
    path("merchant", MerchantBookingView.as_view(), name="bookings-merchant"),
]
