"""Wire shapes of `/api/v1/bookings`: the full booking resource and the bodies clients send."""

from collections.abc import Callable

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bookings.api.fields import AwareDateTimeField
from bookings.models import Booking, BookingStatus, Participant

NOTES_MAX = 1000


class ServiceSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    price_minor = serializers.IntegerField()
    deposit_minor = serializers.IntegerField()
    currency = serializers.CharField(source="organization.currency")


class LocationSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.CharField()
    timezone = serializers.SerializerMethodField()

    def get_timezone(self, location) -> str:
        return location.tz.key


class StaffSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField()


class ClientSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True, allow_null=True)
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField()
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class BookingSerializer(serializers.ModelSerializer):
    """The full booking resource: service, location, client and staff nested.

    Context `own_place`: for a reader who may see only their own place in a class (a customer key, a
    session token), a function giving that place (`bookings.selectors.own_place`). A class then reads
    as theirs alone: their contact as `client`, their places as `party_size`, and nothing the
    booker who opened it wrote (notes, answers) unless that booker is them.
    """

    id = serializers.CharField(source="public_id", help_text="Public id `book_...`; the uuid is accepted too.")
    service = ServiceSummarySerializer()
    location = LocationSummarySerializer()
    staff = StaffSummarySerializer(allow_null=True)
    client = serializers.SerializerMethodField()
    hold_id = serializers.UUIDField(source="hold.uuid", allow_null=True, default=None)
    series_id = serializers.UUIDField(source="series.uuid", allow_null=True, default=None)
    organization = serializers.CharField(source="organization.slug")
    redirect_url = serializers.SerializerMethodField(help_text="Stripe Checkout, while a deposit is due.")

    class Meta:
        model = Booking
        fields = [
            "id",
            "uuid",
            "confirmation_number",
            "organization",
            "status",
            "starts_at",
            "ends_at",
            "timezone",
            "party_size",
            "is_group",
            "service",
            "location",
            "staff",
            "client",
            "notes",
            "custom_field_values",
            "payment_status",
            "deposit_minor",
            "redirect_url",
            "hold_id",
            "series_id",
            "source",
            "sequence",
            "cancelled_at",
            "cancellation_reason",
            "created_at",
            "updated_at",
        ]

    def to_representation(self, booking: Booking) -> dict:
        data = super().to_representation(booking)
        own_place: Callable[[Booking], Participant | None] | None = self.context.get("own_place")
        if own_place is None or not booking.is_group:
            return data
        place = own_place(booking)
        data["party_size"] = place.party_size if place is not None else 0
        if place is None or place.customer_id != booking.customer_id:
            data.update(notes="", custom_field_values=[], hold_id=None, client=_place_client(place))
        return data

    @extend_schema_field(ClientSerializer(allow_null=True))
    def get_client(self, booking: Booking) -> dict | None:
        customer = booking.customer
        if customer is None and not booking.contact_email:
            return None
        first, _, last = booking.contact_name.partition(" ")
        return {
            "id": str(customer.uuid) if customer else None,
            "first_name": customer.first_name if customer else first,
            "last_name": customer.last_name if customer else last,
            "email": booking.contact_email or (customer.email if customer else ""),
            "phone": booking.contact_phone or (customer.phone if customer else ""),
        }

    def get_redirect_url(self, booking: Booking) -> str | None:
        if booking.payment_status == Booking.PaymentStatus.REQUIRED and booking.is_active:
            return booking.payment_redirect_url or None
        return None


def _place_client(place: Participant | None) -> dict | None:
    """A class participant as the `client` of their own view of it."""
    if place is None:
        return None
    customer = place.customer
    return {
        "id": str(customer.uuid),
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
    }


class BookingCreateSerializer(serializers.Serializer):
    hold_id = serializers.UUIDField()
    client = ClientSerializer()
    custom_field_values = serializers.JSONField(required=False, default=list)  # type: ignore[arg-type]  # an array: the stubs allow only a mapping default
    notes = serializers.CharField(max_length=NOTES_MAX, required=False, allow_blank=True, default="")


class BookingUpdateSerializer(serializers.Serializer):
    """PATCH: only these fields; anything else is refused rather than silently ignored."""

    starts_at = AwareDateTimeField(required=False)
    ends_at = AwareDateTimeField(required=False)
    status = serializers.ChoiceField(choices=BookingStatus.choices, required=False)
    notes = serializers.CharField(max_length=NOTES_MAX, required=False, allow_blank=True)

    def validate(self, attrs: dict) -> dict:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({unknown[0]: "cannot be changed here"})
        return attrs


class RescheduleSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField()
    staff_id = serializers.UUIDField(required=False, allow_null=True)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
