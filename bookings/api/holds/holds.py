"""The holds API: `POST /api/v1/bookings/hold` and `DELETE /api/v1/bookings/hold/{hold_id}`."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from bookings.api.fields import AwareDateTimeField
from bookings.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IdempotentCreateMixin
from bookings.api.schema import error_responses
from bookings.selectors import hold_for_key, location_by_ref, service_by_ref, staff_by_ref
from bookings.services.actors import actor_for_request
from bookings.services.holds import hold_place, hold_release
from organizations.auth import request_api_key
from organizations.keys import key_organization_ids
from organizations.models import ApiKey
from organizations.rate_counts import request_limit

HOLD_KEY_KINDS = (ApiKey.Kind.SESSION, ApiKey.Kind.BUSINESS, ApiKey.Kind.HUB)


def client_address(request: Request) -> str:
    """The client's address, NUM_PROXIES hops back in X-Forwarded-For (DRF's own reading)."""
    return BaseThrottle().get_ident(request)


def hold_rate_limit(request: Request) -> None:
    """django-ratelimit's counters: holds placed per client address (session tokens: browsers; a
    business or hub key is the merchant's own server), then per key. Over either: 429."""
    key = request_api_key(request)
    limits = [("hold-create-key", settings.HOLD_RATE_LIMIT, str(key.pk))]
    if key.kind == ApiKey.Kind.SESSION:
        limits.insert(0, ("hold-create-address", settings.HOLD_ADDRESS_RATE_LIMIT, client_address(request)))
    for group, rate, value in limits:
        request_limit(group, value, rate)


class HoldRequestSerializer(serializers.Serializer):
    service_id = serializers.UUIDField()
    location_id = serializers.UUIDField()
    staff_id = serializers.UUIDField(required=False, allow_null=True)
    starts_at = AwareDateTimeField()
    party_size = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=1)


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


class HoldCreateView(IdempotentCreateMixin, APIView):
    allowed_key_kinds = HOLD_KEY_KINDS

    @extend_schema(
        operation_id="hold_create",
        summary="Hold a slot for a few minutes",
        request=HoldRequestSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: HoldSerializer, **error_responses(400, 401, 403, 404, 409, 422, 429)},
    )
    def post(self, request):
        return self.create_idempotently(request)

    def prepare(self, request) -> dict:
        hold_rate_limit(request)
        data = HoldRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data

    def perform(self, request, values: dict) -> Response:
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
            client_address=client_address(request),
        )
        return Response(HoldSerializer(hold).data, status=status.HTTP_201_CREATED)


class HoldDetailView(APIView):
    allowed_key_kinds = HOLD_KEY_KINDS

    @extend_schema(
        operation_id="hold_retrieve",
        summary="Show a hold",
        responses={200: HoldSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, hold_id):
        return Response(HoldSerializer(hold_for_key(hold_id, request.auth)).data)

    @extend_schema(
        operation_id="hold_release",
        summary="Release a hold (the slot is free again at once)",
        responses={200: HoldSerializer, **error_responses(401, 403, 404)},
    )
    def delete(self, request, hold_id):
        hold = hold_release(hold=hold_for_key(hold_id, request.auth), actor=actor_for_request(request))
        return Response(HoldSerializer(hold).data)
