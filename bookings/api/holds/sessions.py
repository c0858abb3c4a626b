"""`POST /api/v1/sessions`: a public key mints a short-lived session token for a booking widget.

The public key lives in browser code; the `cal_ses_` token it gets holds, books and shows only what
it made itself, for its organization, for SESSION_TOKEN_MINUTES. Minting is rate limited per client
address (SESSION_ADDRESS_RATE_LIMIT, checked first so one client cannot spend the key's budget)
and per key (SESSION_RATE_LIMIT).
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from bookings.api.schema import error_responses
from organizations.auth import request_api_key
from organizations.keys import session_token_issue
from organizations.models import ApiKey
from organizations.rate_counts import request_limit


class SessionTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="`cal_ses_...`: shown once, send it as `Authorization: Bearer`.")
    expires_at = serializers.DateTimeField(help_text="ISO 8601, UTC.")


def session_rate_limit(request: Request) -> None:
    """django-ratelimit's counters: per client address, then per key (429 with Retry-After)."""
    limits = (
        ("session-create-address", settings.SESSION_ADDRESS_RATE_LIMIT, BaseThrottle().get_ident(request)),
        ("session-create-key", settings.SESSION_RATE_LIMIT, str(request_api_key(request).pk)),
    )
    for group, rate, value in limits:
        request_limit(group, value, rate)


class SessionTokenCreateView(APIView):
    allowed_key_kinds = (ApiKey.Kind.PUBLIC,)
    missing_key_message = "Missing API key: send a public key in x-kordless-key or Authorization: Bearer"

    @extend_schema(
        operation_id="session_create",
        summary="Mint a short-lived session token for a widget (public key)",
        description=(
            "Answers a `cal_ses_` token for the public key's organization, valid for SESSION_TOKEN_MINUTES "
            "(30 by default), for `POST /api/v1/bookings/hold`, `POST /api/v1/bookings` and "
            "`GET /api/v1/bookings/{id}` of what it made itself. Rate limited per key and per client address."
        ),
        tags=["holds"],
        request=None,
        responses={201: SessionTokenSerializer, **error_responses(401, 403, 429)},
    )
    def post(self, request):
        session_rate_limit(request)
        token, secret = session_token_issue(public_key=request.auth, minutes=settings.SESSION_TOKEN_MINUTES)
        body = SessionTokenSerializer({"token": secret, "expires_at": token.expires_at}).data
        return Response(body, status=status.HTTP_201_CREATED)
