"""POST /bookings/customer and POST /bookings/merchant, exactly as the customer & merchant contract reads.

Both answer 201 with no body. Errors are `{"detail": ...}`: 400 invalid fields, 401 bad token,
404 unknown (or another tenant's) merchant, service, location, customer or booking, 409 slot
taken or group full, 422 a rule of the service refuses it.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.api.customer_merchant.serializers import CustomerBookingSerializer, MerchantBookingSerializer
from bookings.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IdempotentCreateMixin
from bookings.api.schema import ErrorAwareAutoSchema
from bookings.selectors import (
    active_service_by_id,
    booking_by_id,
    customer_by_uuid,
    location_by_id,
    organization_by_slug_for_key,
    staff_by_id,
)
from bookings.services.actors import actor_for_request
from bookings.services.customer_bookings import customer_booking_create
from bookings.services.merchant_bookings import NewCustomer, merchant_booking_create
from bookings.services.series import RecurrenceRule
from organizations.errors import NotFound
from organizations.keys import key_organization_ids
from organizations.models import ApiKey, Customer

CREATED = {201: OpenApiResponse(description="Created. No response body.")}


class CustomerBookingView(IdempotentCreateMixin, APIView):
    """A customer books an appointment, or joins a group booking with `booking_id`."""

    allowed_key_kinds = (ApiKey.Kind.CUSTOMER,)
    missing_key_message = "Missing or invalid authentication token"
    error_codes = (404, 409)
    schema = ErrorAwareAutoSchema()

    @extend_schema(
        operation_id="bookings_customer_create",
        tags=["customer & merchant"],
        request=CustomerBookingSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=CREATED,
        examples=[
            OpenApiExample(
                "Appointment",
                request_only=True,
                value={
                    "merchant_name": "acme-salon",
                    "service_id": 1,
                    "location_id": 1,
                    "timeStamp": "2026-03-15T14:00:00Z",
                    "customer_note": "Please use fragrance-free products",
                },
            )
        ],
    )
    def post(self, request):
        return self.create_idempotently(request)

    def prepare(self, request) -> dict:
        payload = CustomerBookingSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    def perform(self, request, data: dict) -> Response:
        customer = request.auth.customer
        organization = organization_by_slug_for_key(data["merchant_name"], request.auth)
        if customer is None or customer.organization_id != organization.pk:
            raise NotFound("Merchant not found")
        org_ids = [organization.pk]
        customer_booking_create(
            customer=customer,
            service=active_service_by_id(org_ids, data["service_id"]),
            location=location_by_id(org_ids, data["location_id"]),
            starts_at=data["timeStamp"],
            actor=actor_for_request(request),
            note=data["customer_note"],
            joining=booking_by_id(org_ids, data["booking_id"]) if "booking_id" in data else None,
        )
        return Response(status=status.HTTP_201_CREATED)


class MerchantBookingView(IdempotentCreateMixin, APIView):
    """A merchant books customers into an appointment, a group booking, or a recurring series."""

    allowed_key_kinds = (ApiKey.Kind.BUSINESS, ApiKey.Kind.HUB)
    missing_key_message = "Missing or invalid authentication token"
    error_codes = (404, 409)
    schema = ErrorAwareAutoSchema()

    @extend_schema(
        operation_id="bookings_merchant_create",
        tags=["customer & merchant"],
        request=MerchantBookingSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=CREATED,
        examples=[
            OpenApiExample(
                "Recurring class",
                request_only=True,
                value={
                    "service_id": 2,
                    "timestamp": "2026-03-15T18:00:00Z",
                    "customers": [{"id": "550e8400-e29b-41d4-a716-446655440000"}],
                    "merchant_note": "Yoga class - beginner level",
                    "is_recurring": True,
                    "recurrence_rule": {
                        "frequency": "WEEKLY",
                        "interval": 1,
                        "weekdays": ["MO", "WE", "FR"],
                        "until": "2026-06-15T18:00:00Z",
                    },
                },
            )
        ],
    )
    def post(self, request):
        return self.create_idempotently(request)

    def prepare(self, request) -> dict:
        payload = MerchantBookingSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    def perform(self, request, data: dict) -> Response:
        service = active_service_by_id(key_organization_ids(request.auth), data["service_id"])
        org_ids = [service.organization_id]
        rule = None
        if data["is_recurring"]:
            given = data["recurrence_rule"]
            rule = RecurrenceRule(
                frequency=given["frequency"],
                interval=given["interval"],
                weekdays=tuple(given["weekdays"]),
                until=given["until"],
            )
        merchant_booking_create(
            service=service,
            location=location_by_id(org_ids, data["location_id"]) if data.get("location_id") is not None else None,
            starts_at=data["timestamp"],
            customers=[self._customer(org_ids, given) for given in data["customers"]],
            actor=actor_for_request(request),
            staff=staff_by_id(org_ids, data["staff_id"]) if data.get("staff_id") is not None else None,
            merchant_note=data["merchant_note"],
            rule=rule,
        )
        return Response(status=status.HTTP_201_CREATED)

    @staticmethod
    def _customer(organization_ids: list[int], given: dict) -> Customer | NewCustomer:
        if given.get("id") is not None:
            return customer_by_uuid(organization_ids, given["id"])
        return NewCustomer(
            first_name=given["first_name"],
            last_name=given["last_name"],
            email=given["email"],
            phone=given["phone_number"],
        )
