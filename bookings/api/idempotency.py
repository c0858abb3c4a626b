"""`Idempotency-Key` for every POST that creates something: one protocol, one piece of code.

A view whose POST creates something subclasses `IdempotentCreateMixin` and splits its work in two:

- `prepare(request)`: parse and check the request, and do anything slow that must not run under
  a writer lock (opening a Stripe Checkout Session). Outside any transaction.
- `perform(request, prepared)`: call the one service that creates, and answer.

Without the header the two simply run. With it, the key is claimed first (bookings.services.idempotency):
a key already answered replays that answer (`Idempotent-Replayed: true`) without preparing
anything, the same key with another body is a 422, and a key whose first request is still running
is a 409 with `Retry-After`. `perform` then runs in one transaction with the storing of its answer,
so that nothing it created commits without the answer a retry must be given instead of a second
one. Answers that are the request's outcome (2xx, 4xx but 429) are kept for 24 hours; passing
states (429, 5xx, anything with `Retry-After`) give the key back, so the client may retry.
"""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from bookings.services.idempotency import (
    MAX_KEY_LENGTH,
    REPLAY_HEADER,
    Replay,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    request_fingerprint,
)
from organizations.auth import request_api_key

HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    # What idempotency_claim accepts: not blank, at most MAX_KEY_LENGTH characters.
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"\S"},
    OpenApiParameter.HEADER,
    description="Retrying with the same key replays the first answer for 24 hours instead of creating again",
)


def _storable(response: Response) -> bool:
    """Answers that are the request's outcome, not a passing state (busy, rate limited, server error)."""
    return response.status_code < 500 and response.status_code != 429 and not response.has_header("Retry-After")


class IdempotentCreateMixin:
    """For APIViews and viewsets: call `self.create_idempotently(request)` from the POST handler."""

    def prepare(self, request: Request) -> Any:
        raise NotImplementedError

    def perform(self, request: Request, prepared: Any) -> Response:
        raise NotImplementedError

    def create_idempotently(self, request: Request) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return self.perform(request, self.prepare(request))
        claimed = idempotency_claim(
            api_key=request_api_key(request),
            key=key.strip(),
            # The path as routed: `/bookings` and `/bookings/` are one request.
            fingerprint=request_fingerprint(str(request.method), request.path_info.rstrip("/"), request.data),
        )
        if isinstance(claimed, Replay):
            replay = Response(claimed.body, status=claimed.status_code)
            replay[REPLAY_HEADER] = "true"
            return replay
        record = claimed
        try:
            prepared = self.prepare(request)
            with transaction.atomic():
                response = self.perform(request, prepared)
                idempotency_complete(record=record, status_code=response.status_code, body=response.data)
        except Exception as exc:
            try:
                response = self.handle_exception(exc)  # type: ignore[attr-defined]  # APIView's
            except Exception:
                idempotency_release(record=record)
                raise
            if _storable(response):
                idempotency_complete(record=record, status_code=response.status_code, body=response.data)
            else:
                idempotency_release(record=record)
        return response
