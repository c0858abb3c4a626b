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
from bookings.api.schema import ErrorAwareAutoSchema
from bookings.models import Booking
from bookings.services.actors import actor_for_request
from bookings.services.bookings import booking_create, participant_join
from bookings.services.merchant_bookings import NewCustomer, merchant_booking_create
from bookings.services.quorum import group_initial_status, session_confirm_on_quorum
from bookings.services.series import RecurrenceRule
from organizations.errors import NotFound, Unprocessable
from organizations.keys import key_organization_ids
from organizations.models import ApiKey, Customer, Location, Organization, Service, StaffMember

CREATED = {201: OpenApiResponse(description="Created. No response body.")}


class CustomerBookingView(APIView):
    """A customer books an appointment, or joins a group booking with `booking_id`."""

    allowed_key_kinds = (ApiKey.Kind.CUSTOMER,)
    missing_key_message = "Missing or invalid authentication token"
    error_codes = (404, 409)
    schema = ErrorAwareAutoSchema()

    @extend_schema(
        operation_id="bookings_customer_create",
        tags=["customer & merchant"],
        request=CustomerBookingSerializer,
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
        payload = CustomerBookingSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer = request.auth.customer
        organization = Organization.objects.filter(
            slug=data["merchant_name"], id__in=key_organization_ids(request.auth)
        ).first()
        if organization is None or customer is None or customer.organization_id != organization.id:
            raise NotFound("Merchant not found")
        service = Service.objects.filter(organization=organization, id=data["service_id"], active=True).first()
        if service is None:
            raise NotFound("Service not found")
        location = Location.objects.filter(organization=organization, id=data["location_id"]).first()
        if location is None:
            raise NotFound("Location not found")
        actor = actor_for_request(request)
        if "booking_id" in data:
            booking = Booking.objects.filter(organization=organization, id=data["booking_id"]).first()
            if booking is None:
                raise NotFound("Booking not found")
            if (booking.service_id, booking.location_id) != (service.id, location.id):
                raise Unprocessable("booking_id: the booking is for another service or location")
            if booking.is_group and booking.starts_at != data["timeStamp"]:
                raise Unprocessable(f"timeStamp: the booking starts at {booking.starts_at.isoformat()}")
            participant_join(booking=booking, customer=customer, actor=actor, note=data["customer_note"])
        else:
            booking = booking_create(
                service=service,
                location=location,
                starts_at=data["timeStamp"],
                customer=customer,
                actor=actor,
                customer_note=data["customer_note"],
                source="customer",
                status=group_initial_status(service, 1),
            )
        session_confirm_on_quorum(session=booking, actor=actor)
        return Response(status=status.HTTP_201_CREATED)


class MerchantBookingView(APIView):
    """A merchant books customers into an appointment, a group booking, or a recurring series."""

    allowed_key_kinds = (ApiKey.Kind.BUSINESS, ApiKey.Kind.HUB)
    missing_key_message = "Missing or invalid authentication token"
    error_codes = (404, 409)
    schema = ErrorAwareAutoSchema()

    @extend_schema(
        operation_id="bookings_merchant_create",
        tags=["customer & merchant"],
        request=MerchantBookingSerializer,
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
        payload = MerchantBookingSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        service = Service.objects.filter(
            id=data["service_id"], organization_id__in=key_organization_ids(request.auth), active=True
        ).first()
        if service is None:
            raise NotFound("Service not found")
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
            location=self._location(service, data.get("location_id")),
            starts_at=data["timestamp"],
            customers=[self._customer(service, given) for given in data["customers"]],
            actor=actor_for_request(request),
            staff=self._staff(service, data.get("staff_id")),
            merchant_note=data["merchant_note"],
            rule=rule,
        )
        return Response(status=status.HTTP_201_CREATED)

    @staticmethod
    def _location(service: Service, location_id: int | None) -> Location:
        if location_id is not None:
            location = Location.objects.filter(organization_id=service.organization_id, id=location_id).first()
            if location is None:
                raise NotFound("Location not found")
            return location
        offered = list(service.locations.all()[:2])
        if not offered:
            raise Unprocessable("The service is not offered at any location")
        if len(offered) > 1:
            raise Unprocessable("location_id: the service is offered at several locations; name one")
        return offered[0]

    @staticmethod
    def _staff(service: Service, staff_id: int | None) -> StaffMember | None:
        if staff_id is None:
            return None
        staff = StaffMember.objects.filter(organization_id=service.organization_id, id=staff_id).first()
        if staff is None:
            raise NotFound("Staff member not found")
        return staff

    @staticmethod
    def _customer(service: Service, given: dict) -> Customer | NewCustomer:
        if given.get("id") is not None:
            customer = Customer.objects.filter(organization_id=service.organization_id, uuid=given["id"]).first()
            if customer is None:
                raise NotFound("Customer not found")
            return customer
        return NewCustomer(
            first_name=given["first_name"],
            last_name=given["last_name"],
            email=given["email"],
            phone=given["phone_number"],
        )
