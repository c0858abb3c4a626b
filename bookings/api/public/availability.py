"""`GET /api/calendar/v1/public/availability`: the free slots of one service, as the public API shows them."""

from datetime import UTC, datetime, timedelta

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from bookings.api.fields import MAX_INT, parse_aware_datetime
from bookings.api.primed_reads import VersionedReadsPrimedMixin
from bookings.api.schema import error_responses
from bookings.availability import Slot, find_slots
from bookings.caching.availability import availability_cached
from bookings.caching.catalog import service_for_key_cached, staff_by_ref_cached
from bookings.selectors import location_by_ref, team_by_ref
from organizations.errors import InvalidInput
from organizations.models import ApiKey, Team

MAX_WINDOW = timedelta(days=31)
PUBLIC_KEY_KINDS = (ApiKey.Kind.PUBLIC, ApiKey.Kind.BUSINESS, ApiKey.Kind.HUB)
# The public contract answers a key it cannot use with 401, as a wrong one: it has no 403.
PUBLIC_WRONG_KIND_MESSAGE = "Invalid API key: a {kind} key cannot be used with the public booking API"
# A required text parameter: empty or only spaces is the 400 "... is required".
NOT_BLANK = {"type": "string", "minLength": 1, "pattern": r"\S"}


def api_datetime(value: datetime) -> str:
    """UTC with a `Z`, the form the public API's examples use (and clients compare as strings)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class PublicSlotSerializer(serializers.Serializer):
    startsAt = serializers.DateTimeField()  # noqa: N815 (the contract's field name)
    endsAt = serializers.DateTimeField()  # noqa: N815
    host_id = serializers.UUIDField(allow_null=True, help_text="A free staff member (the first of host_ids)")
    host_ids = serializers.ListField(child=serializers.UUIDField(), help_text="Every staff member free for it")
    team_id = serializers.UUIDField(allow_null=True)
    location_id = serializers.UUIDField()
    capacity = serializers.IntegerField(help_text="Seats left (group services); 1 for appointments")


class PublicAvailabilitySerializer(serializers.Serializer):
    slots = PublicSlotSerializer(many=True)


class PublicAvailabilityView(VersionedReadsPrimedMixin, APIView):
    primed_by_query = True
    allowed_key_kinds = PUBLIC_KEY_KINDS
    missing_key_message = "Missing x-kordless-key header"
    wrong_kind_message = PUBLIC_WRONG_KIND_MESSAGE

    @extend_schema(
        operation_id="public_availability",
        summary="Free slots of a service",
        parameters=[
            OpenApiParameter("org_slug", NOT_BLANK, required=True),
            OpenApiParameter("service_slug", NOT_BLANK, required=True),
            OpenApiParameter("from", OpenApiTypes.DATETIME, required=True, description="ISO 8601 with offset"),
            OpenApiParameter("to", OpenApiTypes.DATETIME, required=True, description="At most 31 days after from"),
            OpenApiParameter("location_id", str),
            OpenApiParameter("host_id", str),
            OpenApiParameter("team_id", str),
            OpenApiParameter("party_size", {"type": "integer", "minimum": 1, "default": 1}),
        ],
        responses={200: PublicAvailabilitySerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request):
        params = request.query_params
        for name, values in params.lists():
            # PostgreSQL refuses a NUL in any text it compares (a DataError, a 500): refused here.
            if any("\x00" in value for value in values):
                raise InvalidInput(f"{name}: null characters are not allowed")
        for name in ("org_slug", "service_slug"):
            if not params.get(name, "").strip():
                raise InvalidInput(f"{name} is required")
        start = parse_aware_datetime(params.get("from"), "from")
        end = parse_aware_datetime(params.get("to"), "to")
        if end <= start:
            raise InvalidInput("to must be after from")
        if end - start > MAX_WINDOW:
            raise InvalidInput("The window from..to may not exceed 31 days")
        party_size = params.get("party_size", "1")
        # ASCII digits only (str.isdigit() takes "¹", which int() refuses), and within an integer column.
        digits = party_size.isascii() and party_size.isdigit() and len(party_size) <= len(str(MAX_INT))
        if not digits or not 1 <= int(party_size) <= MAX_INT:
            raise InvalidInput("party_size must be a positive integer")

        service = service_for_key_cached(params["org_slug"].strip(), params["service_slug"].strip(), request.auth)
        org_ids = [service.organization_id]
        location = location_by_ref(org_ids, params["location_id"]) if params.get("location_id") else None
        host = staff_by_ref_cached(org_ids, params["host_id"]) if params.get("host_id") else None
        team = team_by_ref(org_ids, params["team_id"]) if params.get("team_id") else None

        party_size = int(party_size)

        def compute():
            slots = find_slots(service, start, end, location=location, staff=host, team=team, party_size=party_size)
            # Cached as the JSON text itself: a cached answer is sent without being decoded and re-encoded.
            return JSONRenderer().render(public_slots_data(slots, team)), slots

        params = (
            service.pk,
            location.pk if location else None,
            host.pk if host else None,
            team.pk if team else None,
            start.astimezone(UTC).isoformat(),
            end.astimezone(UTC).isoformat(),
            party_size,
        )
        return HttpResponse(availability_cached(service.organization, params, compute), content_type="application/json")


def public_slots_data(slots: list[Slot], team: Team | None) -> dict:
    team_uuid = str(team.uuid) if team else None
    return {
        "slots": [
            {
                "startsAt": api_datetime(slot.starts_at),
                "endsAt": api_datetime(slot.ends_at),
                "host_id": str(slot.staff_uuids[0]) if slot.staff_uuids else None,
                "host_ids": [str(staff_uuid) for staff_uuid in slot.staff_uuids],
                "team_id": team_uuid,
                "location_id": str(slot.location_uuid),
                "capacity": slot.capacity if slot.capacity is not None else 1,
            }
            for slot in slots
        ]
    }
