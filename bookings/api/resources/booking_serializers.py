"""Serializers of the resource API for what bookings produce: participants, series, holds, and API keys."""

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from bookings.api.fields import AwareDateTimeField
from bookings.api.resources.fields import ResourceSerializer, TenantUuidField
from bookings.models import Booking, Participant, RecurringSeries
from holds.models import Hold
from organizations.models import ApiKey, Customer, Organization

UUID_FIELD: dict[str, Any] = {"slug_field": "uuid", "read_only": True}


class ParticipantSerializer(ResourceSerializer):
    booking: serializers.SlugRelatedField[Booking] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True
    )
    booking_uuid = serializers.UUIDField(source="booking.uuid", read_only=True)
    customer = serializers.SlugRelatedField(**UUID_FIELD)

    class Meta:
        model = Participant
        fields = ["id", "uuid", "booking", "booking_uuid", "customer", "party_size", "status", "note", "left_at"]
        read_only_fields = fields


class SeriesSerializer(ResourceSerializer):
    organization = serializers.SlugRelatedField(**UUID_FIELD)
    service = serializers.SlugRelatedField(**UUID_FIELD)
    location = serializers.SlugRelatedField(**UUID_FIELD)
    staff = serializers.SlugRelatedField(**UUID_FIELD)
    bookings: serializers.SlugRelatedField[Booking] = serializers.SlugRelatedField(
        slug_field="public_id", many=True, read_only=True
    )

    class Meta:
        model = RecurringSeries
        fields = [
            "id",
            "uuid",
            "organization",
            "service",
            "location",
            "staff",
            "rrule",
            "timezone",
            "dtstart_local",
            "until",
            "merchant_note",
            "cancelled_at",
            "bookings",
            "created_at",
        ]
        read_only_fields = fields


class SeriesCancelSerializer(serializers.Serializer):
    from_booking = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Cancel this occurrence and every later one (booking uuid, public id or confirmation number). "
        "Omit to cancel the whole series.",
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


@extend_schema_serializer(component_name="HoldResource")
class HoldSerializer(ResourceSerializer):
    organization = serializers.SlugRelatedField(**UUID_FIELD)
    service = serializers.SlugRelatedField(**UUID_FIELD)
    location = serializers.SlugRelatedField(**UUID_FIELD)
    staff = serializers.SlugRelatedField(**UUID_FIELD)

    class Meta:
        model = Hold
        fields = [
            "id",
            "uuid",
            "organization",
            "service",
            "location",
            "staff",
            "starts_at",
            "ends_at",
            "party_size",
            "expires_at",
            "status",
            "released_at",
            "released_by",
            "created_at",
        ]
        read_only_fields = fields


class ApiKeySerializer(ResourceSerializer):
    organizations = TenantUuidField(queryset=Organization.objects.all(), many=True, required=False)
    customer = TenantUuidField(queryset=Customer.objects.all(), required=False, allow_null=True)
    expires_at = AwareDateTimeField(required=False, allow_null=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "uuid",
            "name",
            "kind",
            "prefix",
            "organizations",
            "customer",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "created_at",
        ]
        read_only_fields = ["id", "uuid", "prefix", "revoked_at", "last_used_at", "created_at"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if not attrs.get("organizations"):
            # A many=True TenantUuidField: a ManyRelatedField, whose child's queryset is the key's organizations.
            field = self.fields["organizations"]
            attrs["organizations"] = list(field.child_relation.get_queryset())  # type: ignore[attr-defined]
        if attrs["kind"] == ApiKey.Kind.CUSTOMER:
            customer = attrs.get("customer")
            if customer is None:
                raise serializers.ValidationError({"customer": "This field is required."})
            if customer.organization not in attrs["organizations"]:
                raise serializers.ValidationError({"customer": "belongs to another organization."})
            attrs["organizations"] = [customer.organization]
        elif attrs.get("customer") is not None:
            raise serializers.ValidationError({"customer": "only customer keys name a customer."})
        if attrs["kind"] != ApiKey.Kind.HUB and len(attrs["organizations"]) != 1:
            raise serializers.ValidationError({"organizations": f"a {attrs['kind']} key has exactly one organization."})
        return attrs


class ApiKeyCreatedSerializer(ApiKeySerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown this once; only a hash is stored.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "secret"]
