"""Delivering the webhook outbox: signed POSTs, retries over about three days, every attempt recorded.

A worker claims due deliveries in a short transaction (`SELECT ... FOR UPDATE SKIP LOCKED` on
PostgreSQL; on SQLite the IMMEDIATE transaction mode serializes claims) and moves their
`next_attempt_at` past the longest possible send, a lease. The HTTP request then runs outside any
transaction, so no lock is held while a receiver is slow, and no other worker can claim the same
delivery meanwhile: several workers never send one event twice. A worker that dies mid-send
leaves its lease to run out, and the delivery is retried.
"""

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from bookings.webhook_targets import WebhookTarget, WebhookTargetRefused, webhook_target_resolve
from organizations.errors import Unprocessable

SIGNATURE_HEADER = "Webhook-Signature"
# After the first attempt fails, wait this long before each retry; then give up.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
    timedelta(hours=48),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
RESPONSE_EXCERPT_CHARS = 500
USER_AGENT = "booking-platform-webhooks/1"


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The `Webhook-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event_body(event: WebhookEvent) -> bytes:
    """The JSON every endpoint receives for an event (the same bytes on every retry)."""
    payload = {"id": str(event.uuid), "type": event.type, "created": event.created_at.isoformat(), "data": event.data}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def retry_delay(attempt_count: int) -> timedelta | None:
    """How long to wait after the `attempt_count`-th failed attempt; None: give up."""
    if attempt_count < 1 or attempt_count > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempt_count - 1]


def lease_duration() -> timedelta:
    """Longer than any one send can take, so a claimed delivery is not claimed again meanwhile."""
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3 + 60)


def deliveries_claim(*, now: datetime, batch: int) -> list[int]:
    """Claim up to `batch` due deliveries for this worker; returns their ids."""
    with transaction.atomic():
        ids = list(
            # of=self: lock the delivery rows only. Locking the joined endpoint row too would make
            # every other worker skip all of that endpoint's deliveries.
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, endpoint__active=True)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:batch]
        )
        if ids:
            WebhookDelivery.objects.filter(id__in=ids).update(next_attempt_at=now + lease_duration())
    return ids


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to by now."""

    def __init__(self, target: WebhookTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS: the certificate is verified for the URL's host name (SNI too)."""

    def __init__(self, target: WebhookTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass
class SendResult:
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def webhook_send(*, endpoint: WebhookEndpoint, body: bytes, event_id: str) -> SendResult:
    """POST `body` to the endpoint, signed now. Never raises: failures are described in the result.

    The host is resolved and every address checked first (bookings/webhook_targets.py); a refused
    one is a failed attempt. Redirects are answers, never followed: following one could post the
    event elsewhere."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Webhook-Id": event_id,
        SIGNATURE_HEADER: webhook_signature(secret=endpoint.secret, timestamp=int(time.time()), body=body),
    }
    result = SendResult()
    started = time.monotonic()
    connection: http.client.HTTPConnection | None = None
    try:
        target = webhook_target_resolve(url=endpoint.url)
        timeout = settings.WEBHOOK_TIMEOUT_SECONDS
        connection = (
            _PinnedHTTPSConnection(target, timeout)
            if target.scheme == "https"
            else _PinnedHTTPConnection(target, timeout)
        )
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        result.status_code = response.status
        result.excerpt = _excerpt(response)
        if not result.ok:
            result.error = f"HTTP {response.status}"
    except WebhookTargetRefused as exc:
        result.error = f"Refused: {exc.detail}"[:500]
    except Exception as exc:  # noqa: BLE001 - timeouts, refused connections, bad URLs: all recorded
        reason = getattr(exc, "reason", None) or exc
        result.error = f"{type(exc).__name__}: {reason}"[:500]
    finally:
        if connection is not None:
            connection.close()
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result


def _excerpt(response: IO[bytes]) -> str:
    try:
        return response.read(RESPONSE_EXCERPT_CHARS * 4).decode("utf-8", "replace")[:RESPONSE_EXCERPT_CHARS]
    except Exception:  # noqa: BLE001 - the excerpt is a courtesy
        return ""


def delivery_attempt(*, delivery_id: int, now: datetime) -> WebhookAttempt:
    """Send one claimed delivery and record the outcome: success, a retry later, or giving up."""
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    result = webhook_send(
        endpoint=delivery.endpoint, body=event_body(delivery.event), event_id=str(delivery.event.uuid)
    )
    with transaction.atomic():
        delivery.attempt_count += 1
        fields = ["attempt_count", "status", "next_attempt_at", "delivered_at"]
        if result.ok:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.delivered_at = timezone.now()
        elif result.status_code == 410:
            # The receiver says the endpoint is gone for good: stop sending it anything.
            delivery.status = WebhookDelivery.Status.FAILED
            WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(
                active=False, disabled_reason=f"Answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC"
            )
        else:
            delay = retry_delay(delivery.attempt_count)
            if delay is None:
                delivery.status = WebhookDelivery.Status.FAILED
            else:
                delivery.next_attempt_at = now + delay
        delivery.save(update_fields=fields)
        return WebhookAttempt.objects.create(
            delivery=delivery,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            error=result.error,
            response_excerpt=result.excerpt,
        )


@dataclass
class DeliveryRun:
    succeeded: int = 0
    retrying: int = 0
    failed: int = 0
    attempts: list[WebhookAttempt] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.succeeded + self.retrying + self.failed


def webhooks_deliver(*, now: datetime | None = None, batch: int = 50) -> DeliveryRun:
    """One pass: claim what is due at `now` and send it. Pass `now` to drive time in tests."""
    now = now or timezone.now()
    run = DeliveryRun()
    for delivery_id in deliveries_claim(now=now, batch=batch):
        try:
            attempt = delivery_attempt(delivery_id=delivery_id, now=now)
        except WebhookDelivery.DoesNotExist:  # its endpoint was deleted meanwhile
            continue
        run.attempts.append(attempt)
        status = attempt.delivery.status
        if status == WebhookDelivery.Status.SUCCEEDED:
            run.succeeded += 1
        elif status == WebhookDelivery.Status.FAILED:
            run.failed += 1
        else:
            run.retrying += 1
    return run


def delivery_resend(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Queue a delivery again at once, with a fresh retry schedule (a merchant fixed their receiver,
    say); the next `deliver_webhooks` pass sends it. Its earlier attempts stay recorded.

    422 when its endpoint is disabled: nothing would be sent.
    """
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint").get(pk=delivery.pk)
        )
        if not delivery.endpoint.active:
            raise Unprocessable(f"The endpoint {delivery.endpoint.url} is disabled: enable it to resend")
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.attempt_count = 0
        delivery.next_attempt_at = now
        delivery.delivered_at = None
        delivery.save(update_fields=["status", "attempt_count", "next_attempt_at", "delivered_at"])
    return delivery
