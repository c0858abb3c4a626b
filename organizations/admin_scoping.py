"""Admin base class: a merchant sees and edits only their own organizations' rows (invariant 6)."""

from django.contrib import admin


def user_organization_ids(request) -> list[int]:
    cached = getattr(request, "_organization_ids", None)
    if cached is None:
        cached = list(request.user.memberships.values_list("organization_id", flat=True))
        request._organization_ids = cached
    return cached


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Filters by `organization_lookup` (a lookup path to the organization id) for non-superusers."""

    organization_lookup = "organization_id"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.organization_lookup}__in": user_organization_ids(request)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        self._scope_choices(db_field, request, field)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        self._scope_choices(db_field, request, field)
        return field

    def _scope_choices(self, db_field, request, field) -> None:
        if field is None or request.user.is_superuser or not hasattr(field, "queryset"):
            return
        model = db_field.related_model
        ids = user_organization_ids(request)
        if model._meta.model_name == "organization":
            field.queryset = field.queryset.filter(id__in=ids)
        elif any(f.name == "organization" for f in model._meta.get_fields()):
            field.queryset = field.queryset.filter(organization_id__in=ids)
        elif any(f.name == "organizations" for f in model._meta.get_fields()):
            field.queryset = field.queryset.filter(organizations__id__in=ids).distinct()
