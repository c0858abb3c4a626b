"""Idempotency-Key: a retried POST replays its first answer instead of booking twice.

A record is claimed *before* the work starts: the row is inserted with `status_code` NULL in
its own committed transaction, so the unique constraint (api key, key) decides which of two
concurrent requests does the work. The loser sees the claim and answers 409 with Retry-After
while the winner is busy, or replays the winner's answer once it is stored. A successful answer
is stored in the transaction that did the work, so the work never commits without it (and a claim
left unanswered belongs to a request whose work rolled back, or that is still running: it is
honoured for `claim_lifetime`, the longest a request may run, then a retry takes it over). Records live 24 hours
(`manage.py purge_idempotency`; an expired record met on the way is replaced).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone as djtz

from bookings.models import IdempotencyRecord
from bookings.payments.checkout import stripe_call_max_seconds
from organizations.errors import Conflict, InvalidInput, Unprocessable
from organizations.models import ApiKey

TTL = timedelta(hours=24)
# Beyond the slow steps `claim_lifetime` counts (database round trips, rendering the answer).
CLAIM_MARGIN_SECONDS = 5.0
IN_PROGRESS_RETRY_AFTER = 1
MAX_KEY_LENGTH = 255
REPLAY_HEADER = "Idempotent-Replayed"


# An answer's body as the view gave it (DRF's Response.data): an object, a list, or None (204).
Body = Any


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Body


def request_fingerprint(method: str, path: str, data: Any) -> str:
    """SHA-256 of the request as it matters: method, path and the JSON body with sorted keys."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def claim_lifetime() -> timedelta:
    """How long an unanswered claim is honoured: the longest a request holding it may run, plus a
    margin. Its slow steps are bounded: the Stripe call of a deposit (every attempt at
    STRIPE_TIMEOUT_SECONDS), then the wait for a writer lock (BOOKING_LOCK_TIMEOUT_MS); gunicorn
    kills a sync worker sooner still (30 s). A claim older than this belongs to a request that died
    (a killed worker, a lost connection), and the next retry takes it over, rather than meeting 409s
    for minutes. Should the first request be alive after all, its answer cannot be stored once its
    claim is gone (`idempotency_complete`), so its work rolls back: one key never books twice.
    """
    seconds = stripe_call_max_seconds() + settings.BOOKING_LOCK_TIMEOUT_MS / 1000 + CLAIM_MARGIN_SECONDS
    return timedelta(seconds=seconds)


def _insert(api_key: ApiKey, key: str, fingerprint: str) -> IdempotencyRecord | None:
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(api_key=api_key, key=key, request_hash=fingerprint)
    except IntegrityError:
        return None


def idempotency_claim(
    *, api_key: ApiKey, key: str, fingerprint: str, now: datetime | None = None
) -> IdempotencyRecord | Replay:
    """Claim `key` for this request, or say what happened to it before.

    Returns the claimed record (do the work, then `idempotency_complete` or `idempotency_release`)
    or a Replay of the stored answer. Raises Unprocessable when the key was used with another
    body, Conflict (with retry_after) while the first request is still running.
    """
    if not key:
        raise InvalidInput("Idempotency-Key must not be blank")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be at most {MAX_KEY_LENGTH} printable characters")
    now = now or djtz.now()
    abandoned_before = now - claim_lifetime()
    for _ in range(3):
        record = _insert(api_key, key, fingerprint)
        if record is not None:
            return record
        existing = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
        if existing is None:  # released or purged meanwhile: try again
            continue
        if existing.created_at <= now - TTL:
            # Expired: whoever deletes it claims the key next.
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.status_code is None and existing.created_at <= abandoned_before:
            # Left behind by a request that died. Only while still unanswered: an answer stored
            # meanwhile (the DELETE re-reads the row it waited for) is replayed instead.
            IdempotencyRecord.objects.filter(
                pk=existing.pk, created_at=existing.created_at, status_code__isnull=True
            ).delete()
            continue
        if existing.request_hash != fingerprint:
            raise Unprocessable("Idempotency-Key has already been used with a different request body")
        if existing.status_code is None:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed", retry_after=IN_PROGRESS_RETRY_AFTER
            )
        return Replay(existing.status_code, existing.response_body)
    raise Conflict("A request with this Idempotency-Key is still being processed", retry_after=IN_PROGRESS_RETRY_AFTER)


def idempotency_complete(*, record: IdempotencyRecord, status_code: int, body: Body) -> None:
    """Store the first answer; later requests with the key replay it.

    Conflict (retryable) if the claim is no longer this request's: it outlived `claim_lifetime` and a
    retry took the key over. Called in the transaction of the work, this rolls the work back, so
    that the key's work is done once, by the retry that holds the key now.
    """
    stored = IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).update(
        status_code=status_code, response_body=body
    )
    if not stored:
        raise Conflict(
            "This request took too long and its Idempotency-Key was taken over by a retry; nothing was changed",
            retry_after=IN_PROGRESS_RETRY_AFTER,
        )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Give the key back (the answer was transient: rate limited, busy, server error); a retry runs anew."""
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def idempotency_purge(*, now: datetime | None = None) -> int:
    """Delete records older than 24 hours; returns how many."""
    now = now or djtz.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=now - TTL).delete()
    return deleted
