"""Tenancy of the merchant workspace: who may see what, with every choice scoped to it (invariant 6).

A merchant user works for organizations through Membership, with a role:
- owner: everything of their organizations (catalogue, schedules, staff, keys, webhooks, members);
- staff: bookings, the calendar and customers.
Every admin here derives from `TenantAdmin` (or `TenantInline`), which limits querysets, FK/M2M
choices, list filters, autocompletes and actions to the organizations where the user holds one of
the admin's `roles`; a superuser sees all. For merchants the role is the permission: Django's
per-model permissions are not consulted, so there is one place to reason about who may do what.

Posted ids are refused by the scoped choices themselves ("Select a valid choice"), and
`TenantModelForm` refuses a row that points into two organizations (a staff member of one with
the hours of another).
"""

from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.contrib.admin.filters import RelatedFieldListFilter
from django.db import models
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from bookings.models import (
    BookingEvent,
    IdempotencyRecord,
    Participant,
    WebhookAttempt,
    WebhookDelivery,
)
from organizations.models import ApiKey, Location, Membership, Organization

OWNER = Membership.Role.OWNER
STAFF = Membership.Role.STAFF
OWNERS = frozenset({OWNER})
EVERYONE = frozenset({OWNER, STAFF})

# How rows of models without an `organization` field reach their organization.
ORGANIZATION_PATHS: dict[type[models.Model], str] = {
    Organization: "id",
    Participant: "booking__organization_id",
    BookingEvent: "booking__organization_id",
    WebhookDelivery: "endpoint__organization_id",
    WebhookAttempt: "delivery__endpoint__organization_id",
    IdempotencyRecord: "api_key__organizations__id",
}


def roles_by_organization(request) -> dict[int, str]:
    """{organization id: role} of the request's user (one query per request)."""
    cached = getattr(request, "_workspace_roles", None)
    if cached is None:
        user = request.user
        cached = {}
        if user.is_authenticated:
            cached = dict(Membership.objects.filter(user=user).values_list("organization_id", "role"))
        request._workspace_roles = cached
    return cached


def is_superuser(request) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def organization_ids(request, roles: frozenset[str] = EVERYONE) -> list[int]:
    """The organizations where the user holds one of `roles` (merchants; a superuser has no list)."""
    return sorted(org_id for org_id, role in roles_by_organization(request).items() if role in roles)


def has_role(request, roles: frozenset[str] = EVERYONE) -> bool:
    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or bool(organization_ids(request, roles))


def visible_organizations(request, roles: frozenset[str] = EVERYONE) -> QuerySet[Organization]:
    organizations = Organization.objects.order_by("name", "id")
    if is_superuser(request):
        return organizations
    return organizations.filter(id__in=organization_ids(request, roles))


def organization_path(model: type[models.Model]) -> str | None:
    """The lookup from `model` to its organization's id; None when it has none."""
    if model in ORGANIZATION_PATHS:
        return ORGANIZATION_PATHS[model]
    if any(f.name == "organization" and f.many_to_one for f in model._meta.get_fields()):
        return "organization_id"
    return None


def api_keys_within(queryset: QuerySet[ApiKey], ids: list[int]) -> QuerySet[ApiKey]:
    """Keys all of whose organizations are among `ids` (a hub key of another tenant too is not theirs)."""
    return (
        queryset.filter(organizations__id__in=ids)
        .exclude(organizations__in=Organization.objects.exclude(id__in=ids))
        .distinct()
    )


def scope(queryset: QuerySet, request, roles: frozenset[str] = EVERYONE, path: str | None = None) -> QuerySet:
    """`queryset` limited to the user's organizations (holding one of `roles`); all for a superuser.

    A model with no way to its organization (users, say) yields nothing to a merchant.
    """
    if is_superuser(request):
        return queryset
    ids = organization_ids(request, roles)
    if queryset.model is ApiKey and path is None:
        return api_keys_within(queryset, ids)
    path = path or organization_path(queryset.model)
    if path is None:
        return queryset.none()
    scoped = queryset.filter(**{f"{path}__in": ids})
    return scoped.distinct() if "organizations__" in path else scoped  # a many-to-many path repeats rows


def object_zone(obj) -> ZoneInfo | None:
    """The zone an object's times are in: its location's (falling back to its organization's), else
    its organization's, else its parent's (a booking's event, an endpoint's delivery)."""
    if obj is None:
        return None
    if isinstance(obj, Organization | Location):
        return obj.tz
    if getattr(obj, "location_id", None):
        return obj.location.tz
    if getattr(obj, "organization_id", None):
        return obj.organization.tz
    for parent in ("booking", "endpoint", "delivery", "staff"):
        if getattr(obj, f"{parent}_id", None):
            return object_zone(getattr(obj, parent))
    return None


def zone_for(request, obj=None) -> ZoneInfo:
    """The time zone a page of the workspace reads and takes times in: the object's (see
    `object_zone`), else the user's first organization's."""
    zone = object_zone(obj)
    if zone is not None:
        return zone
    first = visible_organizations(request).first()
    return first.tz if first is not None else ZoneInfo("UTC")


class TenantRelatedFilter(RelatedFieldListFilter):
    """A list filter over a related model offering only the user's rows (Django's lists them all)."""

    def field_choices(self, field, request, model_admin):
        related = field.related_model
        ordering = self.field_admin_ordering(field, request, model_admin) or related._meta.ordering or ["pk"]
        rows = scope(related._default_manager.order_by(*ordering), request, getattr(model_admin, "roles", EVERYONE))
        return [(row.pk, str(row)) for row in rows]


class TenantModelForm(forms.ModelForm):
    """Refuses a row pointing into two organizations; fills the row's organization from what it points at.

    The row's organizations are those it names (its `organization`, an API key's `organizations`);
    everything else it points at (staff, locations, customers, services...) must belong to one of
    them. A row naming none (hours added under a staff member) takes the organization of what it
    points at, which must then be one.
    """

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        instance = self.instance
        claimed: set[int] = set()
        owners: list[tuple[str, int]] = []
        has_organization_field = False
        for field in instance._meta.get_fields():
            if not isinstance(field, models.ForeignKey | models.ManyToManyField):
                continue
            if field.name == "organization":
                has_organization_field = True
            if field.name in cleaned:
                value = cleaned[field.name]
            elif field.name in self.fields or field.name in self.errors:
                continue  # refused already
            elif isinstance(field, models.ForeignKey) and getattr(instance, field.attname) is not None:
                value = getattr(instance, field.name)
            else:
                continue
            for item in value if isinstance(field, models.ManyToManyField) else [value]:
                if isinstance(item, Organization):
                    claimed.add(item.pk)
                elif item is not None and getattr(item, "organization_id", None) is not None:
                    owners.append((field.name, item.organization_id))
        if not claimed and owners:
            claimed = {owners[0][1]}
            if has_organization_field and instance.organization_id is None:
                instance.organization_id = owners[0][1]
        for name, organization_id in owners:
            if organization_id not in claimed and name not in self.errors:
                self.add_error(name if name in self.fields else None, "This belongs to another organization.")
        return cleaned


class TenantInlineFormSet(BaseInlineFormSet):
    """Rows are named by the ids of this parent's rows only (Django accepts any row's id there, and
    then quietly skips it): another row's id is a form error."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        pk = self.fk.model._meta.pk  # the inline's model: the foreign key to the parent is its own field
        field = form.fields.get(pk.name) if pk is not None else None
        if isinstance(field, forms.ModelChoiceField) and pk is not self.fk:
            field.queryset = self.get_queryset()


class TenantInline(admin.TabularInline):
    """An inline whose rows and choices are the user's; view-only unless `editable`."""

    form = TenantModelForm
    formset = TenantInlineFormSet
    extra = 0
    editable = False
    roles = EVERYONE

    def get_queryset(self, request):
        return scope(super().get_queryset(request), request, self.roles)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        _scope_choices(field, request, self.roles)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        _scope_choices(field, request, self.roles)
        return field

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return _zone_named(db_field, super().formfield_for_dbfield(db_field, request, **kwargs))

    def has_view_permission(self, request, obj=None):
        return has_role(request, self.roles)

    def has_add_permission(self, request, obj=None):
        return self.editable and has_role(request, self.roles)

    def has_change_permission(self, request, obj=None):
        return self.editable and has_role(request, self.roles)

    def has_delete_permission(self, request, obj=None):
        return self.editable and has_role(request, self.roles)


def choices_of(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    """A form's model choice field, typed (forms.fields is a dict of plain fields to the stubs)."""
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField), name
    return field


def _zone_named(db_field, field):
    """A date-time is typed and shown in the page's zone (TenantAdmin activates it): say which."""
    if isinstance(db_field, models.DateTimeField) and field is not None:
        zone = timezone.get_current_timezone_name()
        field.help_text = " ".join(filter(None, [str(field.help_text or ""), f"Local time ({zone})."]))
    return field


def _scope_choices(field, request, roles: frozenset[str]) -> None:
    if field is not None and hasattr(field, "queryset") and field.queryset is not None:
        field.queryset = scope(field.queryset, request, roles)


class TenantAdmin(admin.ModelAdmin):
    """A model admin limited to the user's organizations where they hold one of `roles`.

    `read_only`: rows that only services write (bookings, holds, audit, outbox): never added,
    changed or deleted here, by anyone. `superuser_only`: internal tables.
    """

    form = TenantModelForm
    roles = OWNERS
    organization_lookup: str | None = None  # default: organization_path(model)
    read_only = False
    superuser_only = False

    def tenant_ids(self, request) -> list[int]:
        return organization_ids(request, self.roles)

    def get_queryset(self, request):
        return scope(super().get_queryset(request), request, self.roles, self.organization_lookup)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        _scope_choices(field, request, self.roles)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        _scope_choices(field, request, self.roles)
        return field

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return _zone_named(db_field, super().formfield_for_dbfield(db_field, request, **kwargs))

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        ids = self.tenant_ids(request)
        if organization_path(self.model) == "organization_id" and len(ids) == 1 and not is_superuser(request):
            initial.setdefault("organization", str(ids[0]))
        return initial

    def get_list_filter(self, request):
        # Related filters list the user's rows only.
        filters = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str) and self._is_relation(entry):
                entry = (entry, TenantRelatedFilter)
            filters.append(entry)
        return filters

    def _is_relation(self, path: str) -> bool:
        model = self.model
        for part in path.split("__"):
            try:
                field = model._meta.get_field(part)
            except Exception:  # noqa: BLE001 - a lookup such as __isnull
                return False
            if not field.is_relation:
                return False
            model = field.related_model
        return True

    def has_module_permission(self, request):
        if not (request.user.is_active and request.user.is_staff):
            return False
        if request.user.is_superuser:
            return True
        return not self.superuser_only and bool(self.tenant_ids(request))

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return not self.read_only and self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return not self.read_only and self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return not self.read_only and self.has_module_permission(request)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.read_only:
            actions.pop("delete_selected", None)
        return actions

    def page_zone(self, request, obj=None) -> ZoneInfo:
        return zone_for(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = self.get_object(request, object_id) if object_id else None
        with timezone.override(self.page_zone(request, obj)):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        with timezone.override(self.page_zone(request)):
            return super().changelist_view(request, extra_context)
