from django import forms
from django.contrib import admin, messages

from bookings.models import (
    Booking,
    BookingEvent,
    IdempotencyRecord,
    OutboundEmail,
    Participant,
    RecurringSeries,
    StripeEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from bookings.models.webhooks import new_webhook_secret
from bookings.payments.checkout import deposit_refusal
from bookings.webhooks import EVENT_TYPES
from organizations.admin import ServiceAdmin
from organizations.admin_scoping import OrganizationScopedAdmin
from organizations.models import Service


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    raw_id_fields = ["customer"]


class BookingEventInline(admin.TabularInline):
    model = BookingEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "action", "actor", "from_value", "to_value")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Booking)
class BookingAdmin(OrganizationScopedAdmin):
    list_display = ["confirmation_number", "service", "staff", "starts_at", "status", "contact_name", "payment_status"]
    list_filter = ["status", "payment_status", "is_group", "source"]
    search_fields = ["confirmation_number", "public_id", "contact_name", "contact_email", "contact_phone"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["customer", "hold", "series", "created_by_key"]
    readonly_fields = ["public_id", "confirmation_number", "uuid", "sequence", "stripe_checkout_session_id"]
    inlines = [ParticipantInline, BookingEventInline]


@admin.register(Participant)
class ParticipantAdmin(OrganizationScopedAdmin):
    organization_lookup = "booking__organization_id"
    list_display = ["customer", "booking", "party_size", "status"]
    list_filter = ["status"]
    search_fields = ["customer__email", "booking__confirmation_number"]
    raw_id_fields = ["booking", "customer"]


@admin.register(RecurringSeries)
class RecurringSeriesAdmin(OrganizationScopedAdmin):
    list_display = ["service", "rrule", "timezone", "dtstart_local", "until", "cancelled_at"]
    search_fields = ["service__name", "rrule"]


@admin.register(BookingEvent)
class BookingEventAdmin(OrganizationScopedAdmin):
    organization_lookup = "booking__organization_id"
    list_display = ["created_at", "booking", "action", "actor"]
    list_filter = ["action"]
    search_fields = ["booking__confirmation_number", "actor"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(OrganizationScopedAdmin):
    organization_lookup = "api_key__organizations__id"
    list_display = ["key", "api_key", "status_code", "created_at"]
    search_fields = ["key"]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "url", "events", "active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "organization", "active", "disabled_reason", "created_at"]
    list_filter = ["active"]
    search_fields = ["url"]
    readonly_fields = ["disabled_reason", "created_at"]
    actions = ["rotate_secret"]

    def save_model(self, request, obj, form, change) -> None:
        if change and obj.active and "active" in form.changed_data:
            obj.disabled_reason = ""
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret_once(request, obj)

    @admin.action(description="Rotate the signing secret (the new one is shown once)")
    def rotate_secret(self, request, queryset) -> None:
        for endpoint in queryset:
            endpoint.secret = new_webhook_secret()
            endpoint.save(update_fields=["secret"])
            self._show_secret_once(request, endpoint)

    def _show_secret_once(self, request, endpoint: WebhookEndpoint) -> None:
        messages.warning(
            request,
            f"Signing secret for {endpoint.url}: {endpoint.secret} - copy it now, it is not shown again.",
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(OrganizationScopedAdmin):
    list_display = ["uuid", "type", "organization", "created_at"]
    list_filter = ["type"]
    search_fields = ["uuid", "type"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OrganizationScopedAdmin):
    organization_lookup = "endpoint__organization_id"
    list_display = ["event", "endpoint", "status", "attempt_count", "next_attempt_at", "delivered_at"]
    list_filter = ["status"]
    search_fields = ["event__type", "endpoint__url"]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(OrganizationScopedAdmin):
    organization_lookup = "delivery__endpoint__organization_id"
    list_display = ["attempted_at", "delivery", "status_code", "duration_ms", "error"]
    search_fields = ["error"]


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "processed_at"]
    search_fields = ["event_id", "type"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """The email outbox, for operators (superusers): what was sent, what is retried, every attempt."""

    list_display = ["id", "kind", "to", "subject", "status", "attempt_count", "next_attempt_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["subject", "to", "booking__confirmation_number", "last_error"]
    list_select_related = ["booking"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Services with a deposit cannot be booked without Stripe: the Service admin (defined in
# organizations, which cannot import bookings) is extended here to say so.
class ServiceWithDepositAdmin(ServiceAdmin):
    list_display = [*ServiceAdmin.list_display, "deposit"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "deposit_booking"]

    @admin.display(description="Deposit")
    def deposit(self, service: Service) -> str:
        if not service.deposit_minor:
            return "-"
        refusal = deposit_refusal(service)
        amount = f"{service.deposit_minor / 100:.2f} {service.organization.currency}"
        return f"{amount}: NOT BOOKABLE. {refusal}" if refusal else amount

    @admin.display(description="Deposit bookings")
    def deposit_booking(self, service: Service) -> str:
        if service.pk is None or not service.deposit_minor:
            return "No deposit: bookings are confirmed at once."
        return deposit_refusal(service) or "Bookings are pending until the deposit is paid through Stripe Checkout."


admin.site.unregister(Service)
admin.site.register(Service, ServiceWithDepositAdmin)
