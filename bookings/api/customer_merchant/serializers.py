"""Request bodies of POST /bookings/customer and POST /bookings/merchant, field names as the contract spells them."""

from typing import Any

from rest_framework import serializers

from bookings.api.fields import MAX_INT, AwareDateTimeField
from bookings.services.series import FREQUENCIES, WEEKDAYS

ID_FIELD: dict[str, Any] = {"min_value": 1, "max_value": MAX_INT}


class CustomerBookingSerializer(serializers.Serializer):
    merchant_name = serializers.CharField(max_length=80, help_text="The organization's slug.")
    service_id = serializers.IntegerField(**ID_FIELD)
    location_id = serializers.IntegerField(**ID_FIELD)
    timeStamp = AwareDateTimeField(help_text="Start of the booking, ISO 8601 with an offset.")  # noqa: N815
    customer_note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    booking_id = serializers.IntegerField(
        required=False, **ID_FIELD, help_text="Join this existing group booking (event or class) instead."
    )


class MerchantCustomerSerializer(serializers.Serializer):
    id = serializers.UUIDField(required=False, help_text="An existing customer; the other fields are then ignored.")
    first_name = serializers.CharField(required=False, max_length=100, help_text="Required for a new customer.")
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone_number = serializers.CharField(required=False, allow_blank=True, max_length=40, default="")

    def validate(self, attrs):
        if attrs.get("id") is None and not attrs.get("first_name"):
            raise serializers.ValidationError({"first_name": "This field is required."})
        return attrs


class RecurrenceRuleSerializer(serializers.Serializer):
    frequency = serializers.ChoiceField(choices=list(FREQUENCIES))
    interval = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    weekdays = serializers.ListField(
        child=serializers.ChoiceField(choices=list(WEEKDAYS)), required=False, max_length=7, default=list
    )
    until = AwareDateTimeField(help_text="The last occurrence starts no later than this.")


class MerchantBookingSerializer(serializers.Serializer):
    service_id = serializers.IntegerField(**ID_FIELD)
    timestamp = AwareDateTimeField(help_text="Start of the (first) booking, ISO 8601 with an offset.")
    customers = serializers.ListField(child=MerchantCustomerSerializer(), min_length=1, max_length=500)
    merchant_note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    is_recurring = serializers.BooleanField()
    recurrence_rule = RecurrenceRuleSerializer(required=False, allow_null=True)
    location_id = serializers.IntegerField(
        required=False, **ID_FIELD, help_text="Needed only when the service is offered at several locations."
    )
    staff_id = serializers.IntegerField(
        required=False, **ID_FIELD, help_text="Omit to let a free staff member be assigned."
    )

    def validate(self, attrs):
        if attrs["is_recurring"] and not attrs.get("recurrence_rule"):
            raise serializers.ValidationError({"recurrence_rule": "This field is required."})
        return attrs
