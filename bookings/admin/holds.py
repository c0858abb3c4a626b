"""Holds, for owners: shown in local time, never edited here; released through the service."""

from django.contrib import admin, messages

from bookings.admin.tenancy import TenantAdmin
from bookings.admin.times import local_span, local_text
from bookings.services.actors import Actor
from bookings.services.holds import hold_release
from holds.models import Hold


@admin.register(Hold)
class HoldAdmin(TenantAdmin):
    read_only = True
    list_display = ["uuid", "service", "staff", "when", "expires", "status"]
    list_filter = ["status", "staff", "service"]
    search_fields = ["uuid"]
    list_select_related = ["service", "staff", "location__organization"]
    actions = ["release_selected"]
    exclude = ["starts_at", "ends_at", "blocked_start", "blocked_end", "expires_at", "released_at"]
    readonly_fields = ["when", "expires", "released"]

    @admin.display(description="When (local time)", ordering="starts_at")
    def when(self, hold: Hold) -> str:
        return local_span(hold.starts_at, hold.ends_at, hold.location.tz)

    @admin.display(description="Expires", ordering="expires_at")
    def expires(self, hold: Hold) -> str:
        return local_text(hold.expires_at, hold.location.tz)

    @admin.display(description="Released")
    def released(self, hold: Hold) -> str:
        return local_text(hold.released_at, hold.location.tz)

    @admin.action(description="Release selected holds (their times become free)")
    def release_selected(self, request, queryset):
        actor = Actor(user=request.user)
        released = [hold_release(hold=hold, actor=actor) for hold in queryset if hold.status == Hold.Status.ACTIVE]
        messages.success(request, f"{len(released)} hold(s) released.")
