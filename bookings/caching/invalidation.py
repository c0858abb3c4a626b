"""What invalidates each cache: every write, through the ORM, of a row its answers depend on.

The availability cache (a version per organization) depends on everything the engine reads,
SCHEDULE_MODELS; the catalog cache on the catalog rows public requests name,
CATALOG_MODELS (a version per organization, and one for every organization that writes of
organization rows and of unknown organizations replace). Every ORM write of their rows reaches a receiver here by one of two ways:

- Django's own signals, post_save and post_delete: an instance's save() and delete(), and every
  row a deletion cascades to;
- `rows_written` (organizations/signals.py), sent by their default manager's QuerySet
  (organizations/querysets.py) after update(), delete(), bulk_create() and bulk_update(), and,
  for the many-to-many tables (Django sends no model signals for their rows), after create()
  too. A relation's add/remove/clear/set writes those tables through that manager, from either side.

A write replaces the version of each organization whose rows it wrote when its transaction
commits, and at once should that transaction read it first (organizations/versioned_cache.py).
update() and delete() read those organizations first (one query, the only one invalidation adds), and only while the availability
cache is on; the other writers know them from the rows. tests/caching/test_invalidation.py
proves every writer of every model listed here, and `connect` refuses a listed model whose
default manager would not report its bulk writes.

Outside the ORM's public writers nothing is seen: raw SQL, the `_base_manager` Django uses for a
reverse foreign key's add(bulk=True) and for on_delete=SET_NULL (which here only clears a
booking's hold, team or key, none of which the engine reads), and a many-to-many row's own
save() or delete().
"""

from collections.abc import Set
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from bookings.caching.availability import availability_invalidate, availability_invalidate_organizations
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
from organizations.querysets import NotifyingQuerySet
from organizations.signals import organization_ids_wanted, rows_written

# Every model the engine reads (bookings/availability.py, bookings/schedule_reads.py).
SCHEDULE_MODELS: tuple[type[Model], ...] = (
    Organization,
    Location,
    StaffMember,
    Team,
    Team.members.through,
    Service,
    Service.locations.through,
    Service.staff.through,
    WorkingHours,
    DateOverride,
    TimeOff,
    Booking,
    Participant,
    Hold,
)
# Every model the catalog cache keeps rows or answers of (bookings/caching/catalog.py).
CATALOG_MODELS: tuple[type[Model], ...] = (
    Organization,
    Service,
    Service.locations.through,
    Location,
    StaffMember,
    WebhookEndpoint,
    ApiKey.organizations.through,
)


def _organization_id(instance: Model) -> int | None:
    if isinstance(instance, Organization):
        return instance.pk
    if isinstance(instance, Participant):
        if Participant.booking.is_cached(instance):
            return instance.booking.organization_id
        return Booking.objects.filter(pk=instance.booking_id).values_list("organization_id", flat=True).first()
    return getattr(instance, "organization_id", None)


def _reported(sender: type[Model], origin: object) -> bool:
    """Whether a deleted row was deleted by a queryset of its model, which sends rows_written for it."""
    return isinstance(origin, NotifyingQuerySet) and origin.model is sender


def _on_schedule_save(sender: type[Model], instance: Model, raw: bool = False, **kwargs: Any) -> None:
    if not raw:  # fixtures being loaded
        availability_invalidate(_organization_id(instance))


def _on_schedule_delete(sender: type[Model], instance: Model, origin: object = None, **kwargs: Any) -> None:
    if not _reported(sender, origin):
        availability_invalidate(_organization_id(instance))


def _on_schedule_rows(sender: type[Model], organization_ids: Set[int] | None, **kwargs: Any) -> None:
    availability_invalidate_organizations(organization_ids)


def _catalog_organizations(sender: type[Model], instance: Model) -> list[int] | None:
    """Whose catalog a written row belongs to: its organization; None (every organization's) for an
    organization row itself, whose slug the global version keeps (it may have changed)."""
    if sender is Organization:
        return None
    organization_id = _organization_id(instance)
    return None if organization_id is None else [organization_id]


def _on_catalog_save(sender: type[Model], instance: Model, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        catalog_invalidate(_catalog_organizations(sender, instance))


def _on_catalog_delete(sender: type[Model], instance: Model, origin: object = None, **kwargs: Any) -> None:
    if not _reported(sender, origin):
        catalog_invalidate(_catalog_organizations(sender, instance))


# A new grant (a key's organization added) only widens what a key may name, and the catalog keeps
# only lookups that succeeded (a 404 is never cached): no cached row can be wrong after one. Every
# new key, session tokens included (one per widget load), adds such rows.
GRANT_MODELS: tuple[type[Model], ...] = (ApiKey.organizations.through,)


def _on_catalog_rows(
    sender: type[Model], organization_ids: Set[int] | None = None, inserted: bool = False, **kwargs: Any
) -> None:
    if not (inserted and sender in GRANT_MODELS):
        catalog_invalidate(None if sender is Organization else organization_ids)


def _catalog_wants_ids(model: type[Model]) -> bool:
    return model in CATALOG_MODELS and model is not Organization and settings.CATALOG_CACHE_SECONDS > 0


def _availability_wants_ids(model: type[Model]) -> bool:
    return model in SCHEDULE_MODELS and settings.AVAILABILITY_CACHE_SECONDS > 0


def connect() -> None:
    """Wire the receivers (called once, from BookingsConfig.ready)."""
    for model in {*SCHEDULE_MODELS, *CATALOG_MODELS}:
        if not isinstance(model._default_manager.all(), NotifyingQuerySet):
            raise ImproperlyConfigured(f"{model.__name__}'s default manager must be a NotifyingQuerySet's")
    organization_ids_wanted("availability", _availability_wants_ids)
    organization_ids_wanted("catalog", _catalog_wants_ids)
    for model in SCHEDULE_MODELS:
        name = model._meta.label
        rows_written.connect(_on_schedule_rows, sender=model, dispatch_uid=f"availability-rows-{name}")
        if not model._meta.auto_created:  # a many-to-many table's rows send no model signals
            post_save.connect(_on_schedule_save, sender=model, dispatch_uid=f"availability-save-{name}")
            post_delete.connect(_on_schedule_delete, sender=model, dispatch_uid=f"availability-delete-{name}")
    for model in CATALOG_MODELS:
        name = model._meta.label
        rows_written.connect(_on_catalog_rows, sender=model, dispatch_uid=f"catalog-rows-{name}")
        if not model._meta.auto_created:
            post_save.connect(_on_catalog_save, sender=model, dispatch_uid=f"catalog-save-{name}")
            post_delete.connect(_on_catalog_delete, sender=model, dispatch_uid=f"catalog-delete-{name}")
