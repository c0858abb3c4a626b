"""Stripe's webhook, and the pages Stripe Checkout sends a customer back to."""

from django.urls import path

from bookings.payments import pages, views

app_name = "payments"

urlpatterns = [
    path("success", pages.payment_success, name="success"),
    path("cancelled", pages.payment_cancelled, name="cancelled"),
]

webhook_urlpatterns = [
    path("api/v1/stripe/webhook", views.StripeWebhookView.as_view(), name="stripe-webhook"),
]
