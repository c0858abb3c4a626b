"""Serializers of the resource API. Related objects are named by uuid; integer ids are shown too."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from rest_framework import serializers

from bookings.api.fields import AwareDateTimeField
from bookings.api.resources.fields import (
    ResourceSerializer,
    TenantUuidField,
    request_organization_ids,
)
from organizations.models import (
    Customer,
    DateOverride,
    Location,
    Organization,
    Service,
    StaffMember,
    Team,
    TimeOff,
    WorkingHours,
)

POLICY_FIELDS = [
    "min_notice_minutes",
    "max_advance_days",
    "cancellation_cutoff_minutes",
    "hold_minutes",
    "reminder_lead_minutes",
    "second_reminder_lead_minutes",
]
CUSTOM_FIELD_TYPES = {"string", "number", "boolean"}


def run_model_clean(instance: Model) -> None:
    """The model's own cross-field rules, reported as a 400 naming the field."""
    try:
        instance.clean()
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from exc


class OrganizationSerializer(ResourceSerializer):
    class Meta:
        model = Organization
        fields = ["id", "uuid", "slug", "name", "timezone", "currency", *POLICY_FIELDS, "created_at"]
        read_only_fields = ["id", "uuid", "slug", "name", "timezone", "currency", "created_at"]


class OwnedSerializer(ResourceSerializer):
    """A row that belongs to one organization: given by uuid, or implied when the key has only one."""

    organization = TenantUuidField(queryset=Organization.objects.all(), required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is not None:
            if "organization" in attrs and attrs["organization"] != self.instance.organization:
                raise serializers.ValidationError({"organization": "cannot be changed."})
            attrs["organization"] = self.instance.organization
        elif "organization" not in attrs:
            ids = request_organization_ids(self.context)
            if len(ids) != 1:
                raise serializers.ValidationError({"organization": "This field is required."})
            attrs["organization"] = Organization.objects.get(id=next(iter(ids)))
        self.check_same_organization(attrs)
        return attrs

    def check_same_organization(self, attrs) -> None:
        """Every related object must belong to the row's own organization."""
        organization = attrs["organization"]
        for name, value in attrs.items():
            related = value if isinstance(value, list | tuple) else [value]
            for obj in related:
                if name != "organization" and getattr(obj, "organization_id", organization.id) != organization.id:
                    raise serializers.ValidationError({name: "belongs to another organization."})


class LocationSerializer(OwnedSerializer):
    class Meta:
        model = Location
        fields = ["id", "uuid", "organization", "name", "kind", "value", "timezone", "created_at"]
        read_only_fields = ["id", "uuid", "created_at"]


class WorkingHoursSerializer(ResourceSerializer):
    """A schedule rule of exactly one staff member or location; its organization is the owner's."""

    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="uuid", read_only=True
    )
    staff = TenantUuidField(queryset=StaffMember.objects.all(), required=False, allow_null=True)
    location = TenantUuidField(queryset=Location.objects.all(), required=False, allow_null=True)

    class Meta:
        model = WorkingHours
        fields = ["id", "uuid", "organization", "staff", "location", "weekday", "start_time", "end_time"]
        read_only_fields = ["id", "uuid"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        current = {}
        if self.instance is not None:
            names = [f for f in self.Meta.fields if f not in ("id", "uuid", "organization")]
            current = {name: getattr(self.instance, name) for name in names}
        merged = {**current, **attrs}
        run_model_clean(self.Meta.model(**merged))
        owner: Any = merged.get("staff") or merged.get("location")  # run_model_clean: exactly one is given
        attrs["organization"] = owner.organization
        return attrs


class TimeOffSerializer(WorkingHoursSerializer):
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()

    class Meta:
        model = TimeOff
        fields = ["id", "uuid", "organization", "staff", "location", "starts_at", "ends_at", "reason"]
        read_only_fields = ["id", "uuid"]


class DateOverrideSerializer(WorkingHoursSerializer):
    class Meta:
        model = DateOverride
        fields = ["id", "uuid", "organization", "staff", "location", "date", "start_time", "end_time", "reason"]
        read_only_fields = ["id", "uuid"]


class NestedWorkingHoursSerializer(ResourceSerializer):
    class Meta:
        model = WorkingHours
        fields = ["uuid", "weekday", "start_time", "end_time"]


class NestedTimeOffSerializer(ResourceSerializer):
    class Meta:
        model = TimeOff
        fields = ["uuid", "starts_at", "ends_at", "reason"]


class StaffSerializer(OwnedSerializer):
    working_hours = serializers.SerializerMethodField()
    time_off = serializers.SerializerMethodField()

    class Meta:
        model = StaffMember
        fields = ["id", "uuid", "organization", "name", "email", "active", "working_hours", "time_off", "created_at"]
        read_only_fields = ["id", "uuid", "created_at"]

    def get_working_hours(self, obj) -> list[dict]:
        rows = WorkingHours.objects.filter(staff=obj)
        return NestedWorkingHoursSerializer(rows, many=True).data  # type: ignore[return-value]  # many: a list

    def get_time_off(self, obj) -> list[dict]:
        rows = TimeOff.objects.filter(staff=obj)
        return NestedTimeOffSerializer(rows, many=True).data  # type: ignore[return-value]  # many: a list


# SerializerMethodField types for the schema.
StaffSerializer.get_working_hours.__annotations__["return"] = NestedWorkingHoursSerializer(many=True)
StaffSerializer.get_time_off.__annotations__["return"] = NestedTimeOffSerializer(many=True)


class TeamSerializer(OwnedSerializer):
    members = TenantUuidField(queryset=StaffMember.objects.all(), many=True, required=False)

    class Meta:
        model = Team
        fields = ["id", "uuid", "organization", "name", "members", "created_at"]
        read_only_fields = ["id", "uuid", "created_at"]


class CustomFieldSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=64)
    type = serializers.ChoiceField(choices=sorted(CUSTOM_FIELD_TYPES), default="string")
    # Fields named like a Field's own attributes: DRF's metaclass takes declared fields off the class.
    required = serializers.BooleanField(default=False)  # type: ignore[assignment]
    label = serializers.CharField(max_length=200, required=False)  # type: ignore[assignment]


class ServiceSerializer(OwnedSerializer):
    locations = TenantUuidField(queryset=Location.objects.all(), many=True, required=False)
    staff = TenantUuidField(queryset=StaffMember.objects.all(), many=True, required=False)
    custom_fields = serializers.ListField(child=CustomFieldSerializer(), required=False, max_length=50)

    class Meta:
        model = Service
        fields = [
            "id",
            "uuid",
            "organization",
            "slug",
            "name",
            "description",
            "kind",
            "duration_minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "slot_interval_minutes",
            "capacity_min",
            "capacity_max",
            "max_party_size",
            "price_minor",
            "deposit_minor",
            "active",
            "locations",
            "staff",
            "custom_fields",
            "created_at",
        ]
        read_only_fields = ["id", "uuid", "created_at"]
        validators: list[Any] = []  # slug uniqueness is checked per organization in validate()

    def validate(self, attrs):
        attrs = super().validate(attrs)
        current = {}
        if self.instance is not None:
            names = [f for f in self.Meta.fields if f not in ("id", "uuid", "created_at", "locations", "staff")]
            current = {name: getattr(self.instance, name) for name in names}
        scalar = {k: v for k, v in attrs.items() if k not in ("locations", "staff")}
        candidate = Service(**{**current, **scalar})
        run_model_clean(candidate)
        slug_taken = Service.objects.filter(organization=attrs["organization"], slug=candidate.slug)
        if self.instance is not None:
            slug_taken = slug_taken.exclude(pk=self.instance.pk)
        if slug_taken.exists():
            raise serializers.ValidationError({"slug": "a service with this slug already exists."})
        return attrs


class CustomerSerializer(OwnedSerializer):
    class Meta:
        model = Customer
        fields = ["id", "uuid", "organization", "first_name", "last_name", "email", "phone", "created_at"]
        read_only_fields = ["id", "uuid", "created_at"]
        validators: list[Any] = []

    def validate(self, attrs):
        attrs = super().validate(attrs)
        email = (attrs.get("email") or "").strip().lower()
        if email:
            taken = Customer.objects.filter(organization=attrs["organization"], email=email)
            if self.instance is not None:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                raise serializers.ValidationError({"email": "a customer with this email already exists."})
        return attrs
