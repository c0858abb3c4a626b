"""Request and response shapes of the public booking API, as its contract names them."""

import re
from typing import Any

from rest_framework import serializers

from bookings.api.fields import MAX_INT, AwareDateTimeField, StrictIntegerField
from bookings.api.input import InputSerializer
from bookings.api.public.availability import api_datetime
from bookings.ics import invite_path
from bookings.models import Booking, Participant
from bookings.services.lookup import BookingContact
from organizations.models import is_iana_timezone

# ASCII digits only: `\d` would take other scripts' digits, which no phone network dials.
PHONE_RE = re.compile(r"^\+?[0-9\s\-().]{4,40}$", re.ASCII)
PHONE_MIN_DIGITS = 4
NOTES_MAX = 1000
# The database's integer: anything larger is no party size; up to it, the service's capacity decides (422).
PARTY_SIZE_MAX = MAX_INT


class ContactSerializer(InputSerializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    # Optional: absent, empty and null all mean no phone.
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True, default="")

    def validate_phone(self, value: str | None) -> str:
        value = (value or "").strip()
        if value and (not PHONE_RE.match(value) or sum(c in "0123456789" for c in value) < PHONE_MIN_DIGITS):
            raise serializers.ValidationError("not a valid phone number")
        return value


class PublicBookingCreateSerializer(InputSerializer):
    org_slug = serializers.CharField(max_length=80)
    service_slug = serializers.CharField(max_length=80)
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    timezone = serializers.CharField(max_length=64)
    contact = ContactSerializer()
    party_size = StrictIntegerField(min_value=1, max_value=PARTY_SIZE_MAX, required=False, allow_null=True, default=1)
    host_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    team_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    location_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    notes = serializers.CharField(max_length=NOTES_MAX, required=False, allow_blank=True, allow_null=True, default="")

    def validate_timezone(self, value: str) -> str:
        if not is_iana_timezone(value.strip()):
            raise serializers.ValidationError(f"'{value}' is not a valid IANA time zone")
        return value.strip()

    def validate_party_size(self, value: int | None) -> int:
        return 1 if value is None else value

    def validate_notes(self, value: str | None) -> str:
        return value or ""


def location_data(booking: Booking) -> dict:
    location = booking.location
    return {"type": location.kind, "value": location.value or location.name}


def created_booking_data(booking: Booking, participant: Participant | None = None) -> dict[str, Any]:
    """The 201 body of `POST /public/bookings`; a booking awaiting its deposit adds `redirect_url`.

    `participant`: the booker's place in a group session, whose invite link is their own.
    """
    data: dict[str, Any] = {
        "booking": {
            "id": booking.public_id,
            "confirmation_number": booking.confirmation_number,
            "status": booking.status,
            "start_at": api_datetime(booking.starts_at),
            "end_at": api_datetime(booking.ends_at),
            "service_name": booking.service.name,
            "organization_name": booking.organization.name,
            "location": location_data(booking),
        },
        "calendar_invite": {"ics_url": invite_path(booking, participant)},
    }
    if booking.payment_status == Booking.PaymentStatus.REQUIRED and booking.payment_redirect_url:
        data["booking"]["redirect_url"] = booking.payment_redirect_url
    return data


def looked_up_booking_data(booking: Booking, *, contact: BookingContact) -> dict[str, Any]:
    """The 200 body of the confirmation-number lookup. `contact`: the one that matched (in a group
    session the participant's own, never another participant's)."""
    return {
        "booking": {
            "id": booking.public_id,
            "confirmation_number": booking.confirmation_number,
            "status": booking.status,
            "organization_slug": booking.organization.slug,
            "organization_name": booking.organization.name,
            "start_at": api_datetime(booking.starts_at),
            "end_at": api_datetime(booking.ends_at),
            "service_id": str(booking.service.uuid),
            "service_slug": booking.service.slug,
            "service_name": booking.service.name,
            "contact": contact,
            "location": location_data(booking),
            "timezone": booking.timezone,
        }
    }


# Response shapes, for the OpenAPI schema.
class LocationSerializer(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()


class CreatedBookingSerializer(serializers.Serializer):
    id = serializers.CharField()
    confirmation_number = serializers.CharField()
    status = serializers.CharField()
    start_at = serializers.DateTimeField()
    end_at = serializers.DateTimeField()
    service_name = serializers.CharField()
    organization_name = serializers.CharField()
    location = LocationSerializer()
    redirect_url = serializers.URLField(required=False, help_text="Deposit services: where to pay (Stripe Checkout)")


class CalendarInviteSerializer(serializers.Serializer):
    ics_url = serializers.CharField()


class PublicBookingCreatedSerializer(serializers.Serializer):
    booking = CreatedBookingSerializer()
    calendar_invite = CalendarInviteSerializer()


class LookupBookingSerializer(CreatedBookingSerializer):
    organization_slug = serializers.CharField()
    service_id = serializers.CharField()
    service_slug = serializers.CharField()
    contact = ContactSerializer()
    timezone = serializers.CharField()


class PublicBookingLookupSerializer(serializers.Serializer):
    booking = LookupBookingSerializer()
