"""API keys and webhook endpoints, for owners.

A key's secret and an endpoint's signing secret are shown once, on the page that answers their
creation (never in a message, which would sit in a cookie or the session). Keys are revoked,
never deleted; webhook deliveries are shown with their attempts and can be sent again.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from bookings.admin.forms import domain_message
from bookings.admin.tenancy import OWNERS, TenantAdmin, TenantModelForm, choices_of, object_zone, scope, zone_for
from bookings.admin.times import local_text
from bookings.models import WebhookDelivery, WebhookEndpoint
from bookings.models.webhooks import new_webhook_secret
from bookings.webhook_delivery import delivery_resend
from bookings.webhook_targets import WebhookTargetRefused, webhook_url_check
from bookings.webhooks import EVENT_TYPES
from organizations.errors import DomainError
from organizations.keys import api_key_create, api_key_revoke
from organizations.models import ApiKey, Customer, Organization

RECENT_DELIVERIES = 15


def _secret_page(model_admin, request, *, title: str, secrets: list[tuple[str, str]], back: str):
    return TemplateResponse(
        request,
        "admin/workspace/secret_once.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": title,
            "secrets": secrets,
            "back": back,
        },
    )


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, help_text="What the key is for (a website, a partner).")
    kind = forms.ChoiceField(
        choices=[(k.value, k.label) for k in ApiKey.Kind if k != ApiKey.Kind.SESSION],
        help_text="Session tokens are minted by public keys (POST /api/v1/sessions), not here.",
    )
    organizations = forms.ModelMultipleChoiceField(queryset=Organization.objects.none())
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(), required=False, help_text="Customer keys only: who the key acts as."
    )
    expires_at = forms.DateTimeField(required=False, help_text="Blank: never. Local time.")

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        choices_of(self, "organizations").queryset = scope(Organization.objects.all(), request, OWNERS)
        choices_of(self, "customer").queryset = scope(Customer.objects.all(), request, OWNERS)
        zone = timezone.get_current_timezone_name()
        self.fields["expires_at"].help_text = f"Blank: never. Local time ({zone})."

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        kind, organizations = cleaned.get("kind"), list(cleaned.get("organizations") or [])
        if kind and organizations and kind != ApiKey.Kind.HUB and len(organizations) != 1:
            self.add_error("organizations", "Only a hub key spans several organizations: choose one.")
        customer = cleaned.get("customer")
        if kind == ApiKey.Kind.CUSTOMER and customer is None:
            self.add_error("customer", "A customer key must name its customer.")
        if customer is not None and organizations and customer.organization_id not in {o.pk for o in organizations}:
            self.add_error("customer", "This customer belongs to another organization.")
        if kind != ApiKey.Kind.CUSTOMER:
            cleaned["customer"] = None
        expires_at = cleaned.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            self.add_error("expires_at", "This moment has passed.")
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    """Keys all of whose organizations are the owner's; created with their secret shown once."""

    list_display = ["prefix", "name", "kind", "state", "created_at", "expires_at", "last_used_at"]
    list_filter = ["kind"]
    search_fields = ["prefix", "name"]
    readonly_fields = ("prefix", "name", "kind", "organization_names", "customer", "state", "last_used_at")
    fields = (*readonly_fields, "created_at", "expires_at", "revoked_at", "issued_by")
    actions = ["revoke_selected"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_change_permission(self, request, obj=None):
        return False  # a key's rights are fixed at creation; revoke it and create another

    def has_delete_permission(self, request, obj=None):
        return False  # revoked keys stay, so that what they did stays attributable

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="State")
    def state(self, key: ApiKey) -> str:
        if key.revoked_at is not None:
            return "Revoked"
        if key.expires_at is not None and key.expires_at <= timezone.now():
            return "Expired"
        return "Active"

    @admin.display(description="Organizations")
    def organization_names(self, key: ApiKey) -> str:
        return ", ".join(key.organizations.values_list("name", flat=True))

    @admin.action(description="Revoke selected keys (they stop working at once)")
    def revoke_selected(self, request, queryset):
        revoked = [api_key_revoke(api_key=key).prefix for key in queryset if key.revoked_at is None]
        messages.success(request, f"{len(revoked)} key(s) revoked: {', '.join(revoked) or '-'}.")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        with timezone.override(zone_for(request)):
            form = ApiKeyCreateForm(request.POST or None, request=request)
            if request.method == "POST" and form.is_valid():
                data = form.cleaned_data
                try:
                    key, secret = api_key_create(
                        kind=data["kind"],
                        organizations=list(data["organizations"]),
                        customer=data.get("customer"),
                        name=data.get("name", ""),
                        expires_at=data.get("expires_at"),
                    )
                except DomainError as exc:
                    form.add_error(None, domain_message(exc.detail))
                else:
                    self.log_addition(request, key, [{"added": {}}])
                    return _secret_page(
                        self,
                        request,
                        title="API key created",
                        secrets=[(f"{key.get_kind_display()} key {key.name or key.prefix}", secret)],
                        back=reverse("admin:organizations_apikey_changelist"),
                    )
            owned = list(scope(Organization.objects.all(), request, OWNERS))
            if len(owned) == 1 and not form.is_bound:
                form.initial["organizations"] = owned
            return TemplateResponse(
                request,
                "admin/workspace/simple_form.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": "Add API key",
                    "form": form,
                    "submit": "Create the key",
                },
            )


class WebhookEndpointForm(TenantModelForm):
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

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            webhook_url_check(url=url)
        except WebhookTargetRefused as exc:
            message = exc.detail.removeprefix("url: ")
            raise forms.ValidationError(message[:1].upper() + message[1:]) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "organization", "active", "disabled_reason", "created_at"]
    list_filter = ["active"]
    search_fields = ["url"]
    readonly_fields = ["disabled_reason", "created_at", "recent_deliveries"]
    list_select_related = ["organization"]
    actions = ["rotate_secret"]

    def get_fields(self, request, obj=None):
        fields = ["organization", "url", "events", "active"]
        return fields + self.readonly_fields if obj is not None else fields

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "organization"] if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        if change and obj.active and "active" in form.changed_data:
            obj.disabled_reason = ""
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        return _secret_page(
            self,
            request,
            title="Webhook endpoint added",
            secrets=[(f"Signing secret for {obj.url}", obj.secret)],
            back=reverse("admin:bookings_webhookendpoint_change", args=[obj.pk]),
        )

    @admin.action(description="Rotate the signing secret (the new one is shown once)")
    def rotate_secret(self, request, queryset):
        secrets = []
        for endpoint in queryset:
            endpoint.secret = new_webhook_secret()
            endpoint.save(update_fields=["secret"])
            secrets.append((f"Signing secret for {endpoint.url}", endpoint.secret))
        return _secret_page(
            self,
            request,
            title="Signing secrets rotated",
            secrets=secrets,
            back=reverse("admin:bookings_webhookendpoint_changelist"),
        )

    @admin.display(description="Recent deliveries")
    def recent_deliveries(self, endpoint: WebhookEndpoint):
        deliveries = list(
            endpoint.deliveries.select_related("event").prefetch_related("attempts").order_by("-id")[:RECENT_DELIVERIES]
        )
        if not deliveries:
            return "None yet."
        zone = object_zone(endpoint)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>"
            '<td><button type="submit" class="button" formaction="{}" formnovalidate>Resend</button></td></tr>',
            (
                (
                    d.event.type,
                    local_text(d.event.created_at, zone),
                    d.get_status_display(),
                    d.attempt_count,
                    _last_status(d),
                    _last_excerpt(d),
                    reverse("admin:bookings_webhookdelivery_resend", args=[d.pk]),
                )
                for d in deliveries
            ),
        )
        listing = reverse("admin:bookings_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html(
            "<table><thead><tr><th>Event</th><th>Created</th><th>Status</th><th>Attempts</th><th>Last answer</th>"
            "<th>Response excerpt</th><th></th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">All deliveries of this endpoint</a></p>',
            rows,
            listing,
        )


def _last_attempt(delivery: WebhookDelivery):
    attempts = list(delivery.attempts.all())
    return attempts[-1] if attempts else None


def _last_status(delivery: WebhookDelivery) -> str:
    attempt = _last_attempt(delivery)
    if attempt is None:
        return "-"
    return str(attempt.status_code) if attempt.status_code else (attempt.error or "-")


def _last_excerpt(delivery: WebhookDelivery) -> str:
    attempt = _last_attempt(delivery)
    return (attempt.response_excerpt or "")[:200] if attempt is not None else ""


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantAdmin):
    read_only = True
    list_display = ["event_type", "endpoint", "status", "attempt_count", "next_attempt", "delivered", "last_answer"]
    list_filter = ["status", "endpoint"]
    search_fields = ["event__type", "endpoint__url"]
    list_select_related = ["event", "endpoint__organization"]
    actions = ["resend_selected"]
    exclude = ["next_attempt_at", "delivered_at"]
    readonly_fields = ["next_attempt", "delivered", "attempts_table"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("attempts")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/resend/", wrap(self.resend_view), name="bookings_webhookdelivery_resend"),
            *super().get_urls(),
        ]

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.display(description="Next attempt", ordering="next_attempt_at")
    def next_attempt(self, delivery: WebhookDelivery) -> str:
        return local_text(delivery.next_attempt_at, object_zone(delivery))

    @admin.display(description="Delivered")
    def delivered(self, delivery: WebhookDelivery) -> str:
        return local_text(delivery.delivered_at, object_zone(delivery))

    @admin.display(description="Last answer")
    def last_answer(self, delivery: WebhookDelivery) -> str:
        return _last_status(delivery)

    @admin.display(description="Attempts")
    def attempts_table(self, delivery: WebhookDelivery):
        zone = object_zone(delivery)
        attempts = list(delivery.attempts.all())
        if not attempts:
            return "None yet."
        return format_html(
            "<table><thead><tr><th>When</th><th>Status</th><th>Duration</th><th>Error</th><th>Response excerpt</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td><td><code>{}</code></td></tr>",
                (
                    (local_text(a.attempted_at, zone), a.status_code or "-", a.duration_ms, a.error, a.response_excerpt)
                    for a in attempts
                ),
            ),
        )

    @admin.action(description="Resend selected deliveries now")
    def resend_selected(self, request, queryset):
        for delivery in queryset:
            self._resend(request, delivery)

    def _resend(self, request, delivery: WebhookDelivery) -> None:
        try:
            delivery_resend(delivery=delivery)
        except DomainError as exc:
            messages.error(request, domain_message(exc.detail))
        else:
            messages.success(request, f"{delivery.event.type} to {delivery.endpoint.url} is queued again.")

    def resend_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        delivery = self.get_object(request, object_id)
        if delivery is None:
            raise Http404("Delivery not found")
        self._resend(request, delivery)
        return HttpResponseRedirect(
            request.POST.get("next") or reverse("admin:bookings_webhookendpoint_change", args=[delivery.endpoint_id])
        )
