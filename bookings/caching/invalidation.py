"""What invalidates each cache: every write to a table its answers depend on.

The availability cache (per organization) depends on everything the engine reads; the catalog cache
(one version) on the catalog rows public requests name. Both ride on model signals: saves, deletes
and many-to-many changes.
"""

from typing import Any

from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

from bookings.caching.availability import availability_invalidate
from bookings.caching.catalog import catalog_invalidate
from bookings.models import Booking, Participant, WebhookEndpoint
from holds.models import Hold
from organizations.models import (
    ApiKey,
    DateOverride,
    Location,
    Organization,
    Service,
    StaffMember,
    Team,
    TimeOff,
    WorkingHours,
)

# Every model the engine reads (bookings/availability.py).
SCHEDULE_MODELS = (
    Organization,
    Location,
    StaffMember,
    Team,
    Service,
    WorkingHours,
    DateOverride,
    TimeOff,
    Booking,
    Hold,
)
# Every model the catalog cache keeps rows or answers of (bookings/caching/catalog.py).
CATALOG_MODELS = (Organization, Service, Location, StaffMember, WebhookEndpoint)


def _organization_id(instance: Model) -> int | None:
    if isinstance(instance, Organization):
        return instance.pk
    if isinstance(instance, Participant):
        if Participant.booking.is_cached(instance):
            return instance.booking.organization_id
        return Booking.objects.filter(pk=instance.booking_id).values_list("organization_id", flat=True).first()
    return getattr(instance, "organization_id", None)


def _on_schedule_write(sender: type[Model], instance: Model, raw: bool = False, **kwargs: Any) -> None:
    if not raw:  # fixtures being loaded
        availability_invalidate(_organization_id(instance))


def _on_schedule_m2m(sender: type[Model], instance: Model, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        availability_invalidate(_organization_id(instance))


def _on_catalog_write(sender: type[Model], raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        catalog_invalidate()


def _on_catalog_m2m(sender: type[Model], action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        catalog_invalidate()


def connect() -> None:
    """Wire the model signals (called once, from BookingsConfig.ready)."""
    model: type[Model]
    through: type[Model]
    for model in (Participant, *SCHEDULE_MODELS):
        post_save.connect(_on_schedule_write, sender=model, dispatch_uid=f"availability-save-{model.__name__}")
        post_delete.connect(_on_schedule_write, sender=model, dispatch_uid=f"availability-delete-{model.__name__}")
    for through in (Service.locations.through, Service.staff.through, Team.members.through):
        m2m_changed.connect(_on_schedule_m2m, sender=through, dispatch_uid=f"availability-m2m-{through.__name__}")
    for model in CATALOG_MODELS:
        post_save.connect(_on_catalog_write, sender=model, dispatch_uid=f"catalog-save-{model.__name__}")
        post_delete.connect(_on_catalog_write, sender=model, dispatch_uid=f"catalog-delete-{model.__name__}")
    for through in (ApiKey.organizations.through, Service.locations.through):
        m2m_changed.connect(_on_catalog_m2m, sender=through, dispatch_uid=f"catalog-m2m-{through.__name__}")
