from django.contrib import admin

from organizations.admin_scoping import OrganizationScopedAdmin
from organizations.models import (
    ApiKey,
    Customer,
    DateOverride,
    Location,
    Membership,
    Organization,
    Service,
    StaffMember,
    Team,
    TimeOff,
    WorkingHours,
)


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_lookup = "id"
    list_display = ["name", "slug", "timezone", "currency", "min_notice_minutes", "max_advance_days", "hold_minutes"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Membership)
class MembershipAdmin(OrganizationScopedAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "organization__name"]


@admin.register(Location)
class LocationAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "kind", "value", "timezone"]
    list_filter = ["kind"]
    search_fields = ["name", "value"]


class StaffWorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    fk_name = "staff"
    fields = ["organization", "weekday", "start_time", "end_time"]
    extra = 0


@admin.register(StaffMember)
class StaffMemberAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "email", "active"]
    list_filter = ["active"]
    search_fields = ["name", "email"]
    inlines = [StaffWorkingHoursInline]


@admin.register(Team)
class TeamAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


@admin.register(Service)
class ServiceAdmin(OrganizationScopedAdmin):
    list_display = ["name", "slug", "organization", "kind", "duration_minutes", "capacity_max", "price_minor", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["locations", "staff"]


@admin.register(WorkingHours)
class WorkingHoursAdmin(OrganizationScopedAdmin):
    list_display = ["__str__", "staff", "location", "organization"]
    list_filter = ["weekday"]
    search_fields = ["staff__name", "location__name"]


@admin.register(TimeOff)
class TimeOffAdmin(OrganizationScopedAdmin):
    list_display = ["__str__", "staff", "location", "reason"]
    search_fields = ["staff__name", "reason"]
    date_hierarchy = "starts_at"


@admin.register(DateOverride)
class DateOverrideAdmin(OrganizationScopedAdmin):
    list_display = ["__str__", "staff", "location", "reason"]
    search_fields = ["staff__name", "reason"]
    date_hierarchy = "date"


@admin.register(Customer)
class CustomerAdmin(OrganizationScopedAdmin):
    list_display = ["full_name", "email", "phone", "organization", "created_at"]
    search_fields = ["first_name", "last_name", "email", "phone"]


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin):
    organization_lookup = "organizations__id"
    list_display = ["prefix", "name", "kind", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["kind"]
    search_fields = ["prefix", "name"]
    readonly_fields = ["prefix", "secret_hash", "last_used_at", "issued_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()

    def has_add_permission(self, request) -> bool:
        # Secrets are generated and shown once by `manage.py createapikey` or the resource API.
        return False
