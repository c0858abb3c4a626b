"""`/api/v1/webhook-endpoints`: merchants register where booking events are POSTed.

The signing secret is returned once, in the answer to the create; it is never shown again.
"""

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from bookings.api.fields import StrictBooleanField
from bookings.api.schema import ErrorAwareAutoSchema
from bookings.models import WebhookEndpoint
from bookings.webhook_targets import WebhookTargetRefused, webhook_url_check
from bookings.webhooks import EVENT_TYPES
from organizations.auth import request_api_key
from organizations.errors import NotFound
from organizations.keys import key_organization_ids
from organizations.models import Organization


class WebhookEndpointSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    organization = serializers.SlugRelatedField(slug_field="slug", queryset=Organization.objects.none(), required=False)
    url = serializers.URLField(max_length=2000)
    active = StrictBooleanField(required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, help_text="Empty: every event type."
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "organization", "url", "events", "active", "disabled_reason", "created_at"]
        read_only_fields = ["disabled_reason", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        # fields["organization"]: the SlugRelatedField declared above (the stubs see a plain Field).
        if request is not None and request.auth is not None:
            organizations = Organization.objects.filter(id__in=key_organization_ids(request.auth))
            fields["organization"].queryset = organizations  # type: ignore[attr-defined]
        return fields

    def validate_url(self, value: str) -> str:
        try:
            webhook_url_check(url=value)
        except WebhookTargetRefused as exc:
            raise serializers.ValidationError(exc.detail.removeprefix("url: ")) from exc
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value))

    def validate(self, attrs: dict) -> dict:
        # An update may name the endpoint's own organization (the schema's body has it), never move it.
        if self.instance is not None and attrs.get("organization", self.instance.organization) != (
            self.instance.organization
        ):
            raise serializers.ValidationError({"organization": "cannot be changed"})
        if self.instance is None and "organization" not in attrs:
            organizations = list(self.fields["organization"].queryset[:2])  # type: ignore[attr-defined]  # see get_fields
            if len(organizations) != 1:
                raise serializers.ValidationError({"organization": "This field is required."})
            attrs["organization"] = organizations[0]
        if attrs.get("active") is True:
            attrs["disabled_reason"] = ""
        return attrs


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Signs every delivery. Shown only in this answer.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookEndpointSerializer
    schema = ErrorAwareAutoSchema()  # documents the 400/401/403/404/422 it answers, as every resource does
    allowed_key_kinds = {"business", "hub"}
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filterset_fields = ["active"]
    ordering_fields = ["created_at", "url"]
    ordering = ["id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no key
            return WebhookEndpoint.objects.none()
        return WebhookEndpoint.objects.filter(
            organization_id__in=key_organization_ids(request_api_key(self.request))
        ).select_related("organization")

    def get_object(self) -> WebhookEndpoint:
        try:
            endpoint = self.get_queryset().filter(uuid=uuid.UUID(str(self.kwargs["id"]))).first()
        except ValueError:
            endpoint = None
        if endpoint is None:
            raise NotFound("Webhook endpoint not found")
        return endpoint

    @extend_schema(responses={201: WebhookEndpointCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = serializer.save()
        # The only time the secret is shown.
        return Response({**serializer.data, "secret": endpoint.secret}, status=201)
