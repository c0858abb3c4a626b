"""The holds API: `POST /api/v1/bookings/hold` and `DELETE /api/v1/bookings/hold/{hold_id}`."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.api.resolve import location_by_ref, service_by_ref, staff_by_ref
from bookings.services.actors import actor_for_request
from bookings.services.holds import hold_place, hold_release
from holds.models import Hold
from organizations.errors import NotFound
from organizations.keys import key_organization_ids
from organizations.models import ApiKey

HOLD_KEY_KINDS = (ApiKey.Kind.SESSION, ApiKey.Kind.BUSINESS, ApiKey.Kind.HUB)
ErrorSerializer = inline_serializer("HoldError", {"detail": serializers.CharField()})


class HoldRequestSerializer(serializers.Serializer):
    service_id = serializers.UUIDField()
    location_id = serializers.UUIDField()
    staff_id = serializers.UUIDField(required=False, allow_null=True)
    starts_at = serializers.DateTimeField()
    party_size = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=1)

    def validate_starts_at(self, value):
        raw = self.initial_data.get("starts_at")
        if isinstance(raw, str) and not (raw.endswith("Z") or "+" in raw[10:] or "-" in raw[10:]):
            raise serializers.ValidationError("a UTC offset is required (e.g. 2026-03-25T14:00:00+00:00)")
        return value


class HoldSerializer(serializers.Serializer):
    hold_id = serializers.UUIDField(source="uuid")
    service_id = serializers.UUIDField(source="service.uuid")
    location_id = serializers.UUIDField(source="location.uuid")
    staff_id = serializers.UUIDField(source="staff.uuid", allow_null=True, default=None)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    party_size = serializers.IntegerField()
    status = serializers.CharField()


def hold_for_key(hold_id, api_key: ApiKey) -> Hold:
    """A hold the key may see: its organizations' holds; a session token only the holds it made."""
    holds = Hold.objects.select_related("service", "location", "staff").filter(
        organization_id__in=key_organization_ids(api_key)
    )
    if api_key.kind == ApiKey.Kind.SESSION:
        holds = holds.filter(api_key=api_key)
    hold = holds.filter(uuid=hold_id).first()
    if hold is None:
        raise NotFound("Hold not found")
    return hold


class HoldCreateView(APIView):
    allowed_key_kinds = HOLD_KEY_KINDS

    @extend_schema(
        operation_id="hold_create",
        summary="Hold a slot for a few minutes",
        request=HoldRequestSerializer,
        responses={
            201: HoldSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
        },
    )
    def post(self, request):
        data = HoldRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        org_ids = key_organization_ids(request.auth)
        service = service_by_ref(org_ids, values["service_id"])
        location = location_by_ref([service.organization_id], values["location_id"])
        staff = staff_by_ref([service.organization_id], values["staff_id"]) if values.get("staff_id") else None
        hold = hold_place(
            service=service,
            location=location,
            starts_at=values["starts_at"],
            staff=staff,
            party_size=values["party_size"],
            api_key=request.auth,
        )
        return Response(HoldSerializer(hold).data, status=status.HTTP_201_CREATED)


class HoldDetailView(APIView):
    allowed_key_kinds = HOLD_KEY_KINDS

    @extend_schema(
        operation_id="hold_retrieve",
        summary="Show a hold",
        responses={200: HoldSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request, hold_id):
        return Response(HoldSerializer(hold_for_key(hold_id, request.auth)).data)

    @extend_schema(
        operation_id="hold_release",
        summary="Release a hold (the slot is free again at once)",
        responses={200: HoldSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )
    def delete(self, request, hold_id):
        hold = hold_release(hold=hold_for_key(hold_id, request.auth), actor=actor_for_request(request))
        return Response(HoldSerializer(hold).data)
