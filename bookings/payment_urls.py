from django.urls import path

from bookings import payment_pages

app_name = "payments"

urlpatterns = [
    path("success", payment_pages.payment_success, name="success"),
    path("cancelled", payment_pages.payment_cancelled, name="cancelled"),
]
