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
    event = webhook_event_row(organization=organization, event_type=event_type, data=data)
    event.save(force_insert=True)
    webhook_deliveries_queue(event)
    return event


def webhook_event_row(*, organization: Organization, event_type: str, data: dict[str, Any]) -> WebhookEvent:
    """The event, not yet saved (a new booking's rides with its INSERT); once it is, its deliveries
    are `webhook_deliveries_queue`'s."""
    assert event_type in EVENT_TYPES, event_type
    return WebhookEvent(organization=organization, type=event_type, data=data)


def webhook_deliveries_queue(event: WebhookEvent) -> None:
    """One pending delivery of a saved event per active endpoint of its organization that subscribes to it."""
    if not webhook_endpoints_exist_cached(event.organization_id):
        return
    now = timezone.now()
    endpoints = WebhookEndpoint.objects.filter(organization_id=event.organization_id, active=True)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now)
        for endpoint in endpoints
        if endpoint.wants(event.type)
    )


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
