"""The self-service widget's two actions, as JSON: cancel and reschedule a booking found by its
confirmation number and contact, with the lookup's rules, failure counters and errors.

`POST /api/calendar/v1/public/bookings/confirmation/{number}/cancel` and `.../reschedule`. The
contact comes in the body (or, as for the lookup, the `contact` query parameter). They call the
same self-service services as the manage page (bookings.services.self_service).
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from bookings.api.fields import AwareDateTimeField
from bookings.api.public.serializers import LookupBookingSerializer, looked_up_booking_data
from bookings.api.schema import error_responses
from bookings.services.lookup import booking_lookup
from bookings.services.self_service import ManagedBooking, booking_self_cancel, booking_self_reschedule, managed_booking

CONTACT_HELP = "Email or phone used when booking (as for the lookup); the query parameter `contact` also works"
CONTACT_PARAMETER = OpenApiParameter("contact", str, required=False, description="Instead of `contact` in the body")
ERRORS = error_responses(400, 403, 404, 409, 422, 429)


class SelfCancelSerializer(serializers.Serializer):
    contact = serializers.CharField(max_length=254, required=False, help_text=CONTACT_HELP)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class SelfRescheduleSerializer(serializers.Serializer):
    contact = serializers.CharField(max_length=254, required=False, help_text=CONTACT_HELP)
    starts_at = AwareDateTimeField(help_text="A free slot of the same service (ISO 8601 with offset)")


class RefundSerializer(serializers.Serializer):
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.CharField(help_text="Stripe's refund status: succeeded or pending")


class SelfCancelledSerializer(serializers.Serializer):
    booking = LookupBookingSerializer()
    refund = RefundSerializer(allow_null=True, help_text="The deposit refunded, if one was paid")


class SelfRescheduledSerializer(serializers.Serializer):
    booking = LookupBookingSerializer(help_text="In a class: the session the place moved to (its own number)")


def _contact(request) -> str | None:
    """The contact from the body, else the query string; anything but a string counts as none."""
    value = request.data.get("contact") if isinstance(request.data, dict) else None
    if value is None:
        value = request.query_params.get("contact")
    return value if isinstance(value, str) else None


def _managed(request, confirmation_number: str) -> ManagedBooking:
    found = booking_lookup(
        confirmation_number=confirmation_number, contact=_contact(request), client_ip=BaseThrottle().get_ident(request)
    )
    return managed_booking(found)


def _booking_data(managed: ManagedBooking) -> dict[str, object]:
    data = looked_up_booking_data(managed.booking, contact=managed.contact)["booking"]
    return {**data, "status": managed.status}


class SelfCancelView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="public_booking_self_cancel",
        summary="Cancel a booking (in a class: one's own place) by confirmation number and contact",
        description="Before the organization's cut-off only (422 after); a paid deposit is refunded then. "
        "502 when the refund cannot be made: nothing is cancelled.",
        request=SelfCancelSerializer,
        parameters=[CONTACT_PARAMETER],
        responses={200: SelfCancelledSerializer, **ERRORS, **error_responses(502)},
    )
    def post(self, request, confirmation_number: str):
        managed = _managed(request, confirmation_number)
        body = SelfCancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = booking_self_cancel(managed=managed, reason=body.validated_data["reason"])
        refund = None
        if done.refund is not None:
            currency = done.managed.booking.organization.currency
            refund = {"amount_minor": done.refund.amount_minor, "currency": currency, "status": done.refund.status}
        return Response({"booking": _booking_data(done.managed), "refund": refund})


class SelfRescheduleView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="public_booking_self_reschedule",
        summary="Move a booking (in a class: one's own place) to another free slot of its service",
        description="Before the organization's cut-off only (422 after); the booking's own slot does not "
        "count against it. A class place moves to the session at `starts_at`, which has its own number.",
        request=SelfRescheduleSerializer,
        parameters=[CONTACT_PARAMETER],
        responses={200: SelfRescheduledSerializer, **ERRORS},
    )
    def post(self, request, confirmation_number: str):
        managed = _managed(request, confirmation_number)
        body = SelfRescheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        moved = booking_self_reschedule(managed=managed, starts_at=body.validated_data["starts_at"])
        return Response({"booking": _booking_data(moved)})
