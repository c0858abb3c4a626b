"""Webhook outbox: events are written in the transaction of the change they report.

`webhook_emit` is called inside a service's transaction; if the change rolls back, so does the
event. Delivery (`manage.py deliver_webhooks`) reads the outbox later.
"""

from typing import Any

from django.utils import timezone

from bookings.caching.catalog import webhook_endpoints_exist_cached
from bookings.models import Booking, WebhookDelivery, WebhookEndpoint, WebhookEvent
from organizations.models import Organization

EVENT_TYPES = (
    "booking.created",
    "booking.confirmed",
    "booking.rescheduled",
    "booking.cancelled",
    "booking.completed",
    "booking.no_show",
    "participant.joined",
    "participant.left",
    "hold.expired",
)


def webhook_emit(*, organization: Organization, event_type: str, data: dict[str, Any]) -> WebhookEvent:
    """Write the event and one pending delivery per active endpoint that subscribes to it."""
    assert event_type in EVENT_TYPES, event_type
    event = WebhookEvent.objects.create(organization=organization, type=event_type, data=data)
    if not webhook_endpoints_exist_cached(organization.pk):
        return event
    now = timezone.now()
    endpoints = WebhookEndpoint.objects.filter(organization=organization, active=True)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now)
        for endpoint in endpoints
        if endpoint.wants(event_type)
    )
    return event


def booking_event_data(booking: Booking) -> dict[str, Any]:
    """The `data` of every booking.* event."""
    return {
        "id": booking.public_id,
        "uuid": str(booking.uuid),
        "confirmation_number": booking.confirmation_number,
        "status": booking.status,
        "organization": booking.organization.slug,
        "service_id": str(booking.service.uuid),
        "service_slug": booking.service.slug,
        "location_id": str(booking.location.uuid),
        "staff_id": str(booking.staff.uuid) if booking.staff is not None else None,
        "starts_at": booking.starts_at.isoformat(),
        "ends_at": booking.ends_at.isoformat(),
        "timezone": booking.timezone,
        "party_size": booking.party_size,
        "contact": {"name": booking.contact_name, "email": booking.contact_email, "phone": booking.contact_phone},
        "series_id": str(booking.series.uuid) if booking.series is not None else None,
        "cancelled_at": booking.cancelled_at.isoformat() if booking.cancelled_at else None,
        "cancellation_reason": booking.cancellation_reason,
    }
