"""POST /api/v1/stripe/webhook: Stripe reports Checkout outcomes here, signed with our endpoint secret.

A DRF view so that its errors are the API's (`{"detail"}` from the one exception handler), but
without a key: the `Stripe-Signature` over the raw body is the credential. Stripe's contract, not
ours: it is left out of the OpenAPI schema.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.payments.settlement import stripe_webhook_handle


@extend_schema(exclude=True)
class StripeWebhookView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        """Verify `Stripe-Signature` over the raw body (400 if wrong) and apply the event once."""
        outcome = stripe_webhook_handle(payload=request.body, signature=request.headers.get("Stripe-Signature"))
        return Response({"received": True, "outcome": outcome})
