"""`/api/v1/bookings` (made from holds), the Stripe webhook and webhook endpoints."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from bookings.api.v1.bookings import BookingViewSet
from bookings.api.v1.stripe_webhook import stripe_webhook
from bookings.api.v1.webhook_endpoints import WebhookEndpointViewSet

router = SimpleRouter(trailing_slash=False)
router.register("bookings", BookingViewSet, basename="booking")
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")

urlpatterns = [
    path("stripe/webhook", stripe_webhook, name="stripe-webhook"),
    *router.urls,
]
