"""Stripe's webhook. (The pages Stripe Checkout sends a customer back to are customer pages:
bookings/pages/deposit.py, mounted by bookings/urls.py.)"""

from django.urls import path

from bookings.payments import views

webhook_urlpatterns = [
    path("api/v1/stripe/webhook", views.StripeWebhookView.as_view(), name="stripe-webhook"),
]
