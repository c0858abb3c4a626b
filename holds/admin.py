from django.contrib import admin

from holds.models import Hold
from organizations.admin_scoping import OrganizationScopedAdmin


@admin.register(Hold)
class HoldAdmin(OrganizationScopedAdmin):
    list_display = ["uuid", "service", "staff", "starts_at", "expires_at", "status"]
    list_filter = ["status"]
    search_fields = ["uuid"]
    date_hierarchy = "starts_at"
