"""The catalogue and schedules, for owners: organizations, locations, staff, teams, services, hours.

Schedule rows (working hours, time off, date overrides) take their organization from the staff
member or location they belong to: nobody types it, so nobody can type another tenant's.
"""

from django.contrib import admin

from bookings.admin.tenancy import OWNERS, TenantAdmin, TenantInline, is_superuser, object_zone
from bookings.admin.times import local_span
from bookings.payments.checkout import deposit_refusal
from organizations.models import (
    DateOverride,
    Location,
    Organization,
    Service,
    StaffMember,
    Team,
    TimeOff,
    WorkingHours,
)


@admin.register(Organization)
class OrganizationAdmin(TenantAdmin):
    """Owners change their own organization's policy; only a superuser creates or deletes one."""

    list_display = ["name", "slug", "timezone", "currency", "min_notice_minutes", "max_advance_days", "hold_minutes"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def has_add_permission(self, request):
        return is_superuser(request)

    def has_delete_permission(self, request, obj=None):
        return is_superuser(request)

    def get_readonly_fields(self, request, obj=None):
        # The slug is in the customer pages' and the APIs' addresses.
        return [] if is_superuser(request) or obj is None else ["slug"]

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if "slug" not in self.get_readonly_fields(request, obj) else {}


class ScheduleInline(TenantInline):
    roles = OWNERS
    editable = True


class StaffWorkingHoursInline(ScheduleInline):
    model = WorkingHours
    fk_name = "staff"
    fields = ["weekday", "start_time", "end_time"]
    verbose_name_plural = "Working hours (local time of the location)"


class StaffTimeOffInline(ScheduleInline):
    model = TimeOff
    fk_name = "staff"
    fields = ["starts_at", "ends_at", "reason"]


class StaffDateOverrideInline(ScheduleInline):
    model = DateOverride
    fk_name = "staff"
    fields = ["date", "start_time", "end_time", "reason"]
    verbose_name_plural = "Date overrides (closed, or other hours, on one date)"


class LocationWorkingHoursInline(StaffWorkingHoursInline):
    fk_name = "location"
    verbose_name_plural = "Opening hours (local time)"


class LocationTimeOffInline(StaffTimeOffInline):
    fk_name = "location"


class LocationDateOverrideInline(StaffDateOverrideInline):
    fk_name = "location"


@admin.register(Location)
class LocationAdmin(TenantAdmin):
    list_display = ["name", "organization", "kind", "value", "zone"]
    list_filter = ["kind"]
    search_fields = ["name", "value"]
    list_select_related = ["organization"]
    inlines = [LocationWorkingHoursInline, LocationDateOverrideInline, LocationTimeOffInline]

    @admin.display(description="Time zone")
    def zone(self, location: Location) -> str:
        return location.timezone or f"{location.organization.timezone} (the organization's)"


@admin.register(StaffMember)
class StaffMemberAdmin(TenantAdmin):
    list_display = ["name", "organization", "email", "active"]
    list_filter = ["active"]
    search_fields = ["name", "email"]
    list_select_related = ["organization"]
    inlines = [StaffWorkingHoursInline, StaffDateOverrideInline, StaffTimeOffInline]


@admin.register(Team)
class TeamAdmin(TenantAdmin):
    list_display = ["name", "organization"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    list_select_related = ["organization"]


@admin.register(Service)
class ServiceAdmin(TenantAdmin):
    list_display = [
        "name",
        "slug",
        "organization",
        "kind",
        "duration_minutes",
        "capacity_max",
        "price_minor",
        "deposit",
        "active",
    ]
    list_filter = ["kind", "active"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["locations", "staff"]
    list_select_related = ["organization"]
    readonly_fields = ["deposit_booking"]

    @admin.display(description="Deposit")
    def deposit(self, service: Service) -> str:
        if not service.deposit_minor:
            return "-"
        refusal = deposit_refusal(service)
        amount = f"{service.deposit_minor / 100:.2f} {service.organization.currency}"
        return f"{amount}: NOT BOOKABLE. {refusal}" if refusal else amount

    @admin.display(description="Deposit bookings")
    def deposit_booking(self, service: Service) -> str:
        # Services with a deposit cannot be booked online without Stripe: say so where it is set.
        if service.pk is None or not service.deposit_minor:
            return "No deposit: bookings are confirmed at once."
        return deposit_refusal(service) or "Bookings are pending until the deposit is paid through Stripe Checkout."


class ScheduleRuleAdmin(TenantAdmin):
    """Hours, time off and overrides: of one staff member or one location, whose organization they take."""

    list_select_related = ["staff", "location", "organization"]
    search_fields = ["staff__name", "location__name"]


@admin.register(WorkingHours)
class WorkingHoursAdmin(ScheduleRuleAdmin):
    list_display = ["__str__", "staff", "location", "organization"]
    list_filter = ["weekday", "staff", "location"]
    fields = ["staff", "location", "weekday", "start_time", "end_time"]


@admin.register(TimeOff)
class TimeOffAdmin(ScheduleRuleAdmin):
    list_display = ["when", "staff", "location", "reason"]
    list_filter = ["staff", "location"]
    search_fields = ["staff__name", "location__name", "reason"]
    fields = ["staff", "location", "starts_at", "ends_at", "reason"]

    @admin.display(description="When (local time)", ordering="starts_at")
    def when(self, time_off: TimeOff) -> str:
        return local_span(time_off.starts_at, time_off.ends_at, object_zone(time_off))


@admin.register(DateOverride)
class DateOverrideAdmin(ScheduleRuleAdmin):
    list_display = ["__str__", "staff", "location", "reason"]
    list_filter = ["staff", "location"]
    search_fields = ["staff__name", "location__name", "reason"]
    fields = ["staff", "location", "date", "start_time", "end_time", "reason"]
