"""POST /api/v1/stripe/webhook: Stripe reports Checkout outcomes here, signed with our endpoint secret."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookings.services.payments import stripe_webhook_handle
from organizations.errors import DomainError


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Verify `Stripe-Signature` over the raw body (400 if wrong) and apply the event once."""
    try:
        outcome = stripe_webhook_handle(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except DomainError as exc:
        return JsonResponse({"detail": exc.detail}, status=exc.status_code)
    return JsonResponse({"received": True, "outcome": outcome})
