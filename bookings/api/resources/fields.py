"""Resource serializer building blocks: related objects by uuid within the key's organizations."""

import uuid
from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bookings.api.fields import MAX_INT, AwareDateTimeField, StrictBooleanField
from organizations.keys import key_organization_ids
from organizations.models import ApiKey, Organization


def request_organization_ids(context: Mapping[str, Any]) -> set[int]:
    request = context.get("request")
    key = getattr(request, "auth", None)
    return key_organization_ids(key) if isinstance(key, ApiKey) else set()


class TenantUuidField(serializers.SlugRelatedField):
    """A related object named by its uuid, found only among the requesting key's organizations.

    Another tenant's object reads as "not found", exactly like an object that does not exist.
    """

    default_error_messages = {
        "does_not_exist": "no {model} with uuid {value}.",
        "invalid": "must be a uuid.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="uuid", **kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        assert queryset is not None  # every TenantUuidField that looks up rows is given a queryset
        ids = request_organization_ids(self.context)
        if queryset.model is Organization:
            return queryset.filter(id__in=ids)
        return queryset.filter(organization_id__in=ids)

    def run_validation(self, data=serializers.empty):
        # DRF reads "" in a related field as null; the schema says a uuid (or null, where allowed).
        if data == "":
            self.fail("invalid")
        return super().run_validation(data)

    def to_internal_value(self, data):
        try:
            value = uuid.UUID(str(data))
        except ValueError:
            self.fail("invalid")
        try:
            return self.get_queryset().get(uuid=value)
        except self.get_queryset().model.DoesNotExist:
            self.fail("does_not_exist", model=self.get_queryset().model._meta.verbose_name, value=value)


@extend_schema_field({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$", "example": "09:00:00"})
class LocalTimeField(serializers.TimeField):
    """A wall-clock time of day in the owner's zone (no offset: RFC 3339's `time` would demand one)."""


class ResourceSerializer(serializers.ModelSerializer):
    """A model serializer with integers capped to what every database stores and strict datetimes."""

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if issubclass(field_class, serializers.IntegerField):
            kwargs["max_value"] = min(kwargs.get("max_value", MAX_INT), MAX_INT)
        if field_class is serializers.TimeField:
            field_class = LocalTimeField
        if issubclass(field_class, serializers.DateTimeField):
            field_class = AwareDateTimeField
        if field_class is serializers.BooleanField:
            field_class = StrictBooleanField
        return field_class, kwargs
