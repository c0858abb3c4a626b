from bookings.models.booking import (
    ACTIVE_STATUSES,
    Booking,
    BookingEvent,
    BookingStatus,
    Participant,
    RecurringSeries,
)
from bookings.models.emails import OutboundEmail
from bookings.models.idempotency import IdempotencyRecord
from bookings.models.payments import StripeEvent
from bookings.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "ACTIVE_STATUSES",
    "Booking",
    "BookingEvent",
    "BookingStatus",
    "IdempotencyRecord",
    "OutboundEmail",
    "Participant",
    "RecurringSeries",
    "StripeEvent",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
