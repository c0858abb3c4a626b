"""The public booking API: create (API key), look up (confirmation number + contact), invite.ics (signed link).

Views stay thin: check the request, call one service, shape the answer the contract shows.
"""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from bookings.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IdempotentCreateMixin
from bookings.api.primed_reads import VersionedReadsPrimedMixin
from bookings.api.public.availability import PUBLIC_KEY_KINDS, PUBLIC_WRONG_KIND_MESSAGE
from bookings.api.public.serializers import (
    PublicBookingCreatedSerializer,
    PublicBookingCreateSerializer,
    PublicBookingLookupSerializer,
    created_booking_data,
    looked_up_booking_data,
)
from bookings.api.schema import error_responses
from bookings.caching.catalog import service_for_key_cached, staff_by_ref_cached
from bookings.ics import booking_ics, invite_token_valid
from bookings.models import Booking, Participant
from bookings.selectors import booking_by_ref, location_by_ref, participant_by_ref, team_by_ref
from bookings.services.lookup import booking_lookup
from bookings.services.public_booking import PreparedPublicBooking, public_booking_create, public_booking_prepare
from organizations.errors import NotFound, Unprocessable
from organizations.rate_counts import request_limit

RATE_GROUP = "public-booking-create"
ERRORS = error_responses(400, 401, 404, 409, 422, 429)


def booking_rate_limit(request: Request) -> None:
    """django-ratelimit's counter, per API key: BOOKING_RATE_LIMIT create attempts per window."""
    request_limit(RATE_GROUP, str(request.auth.pk), settings.BOOKING_RATE_LIMIT)


class PublicBookingCreateView(VersionedReadsPrimedMixin, IdempotentCreateMixin, APIView):
    primed_by_body_field = "host_id"  # the host's row is one more lookup
    allowed_key_kinds = PUBLIC_KEY_KINDS
    missing_key_message = "Missing x-kordless-key header"
    wrong_kind_message = PUBLIC_WRONG_KIND_MESSAGE

    @extend_schema(
        operation_id="public_booking_create",
        summary="Create a booking",
        request=PublicBookingCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: PublicBookingCreatedSerializer, **ERRORS},
    )
    def post(self, request):
        return self.create_idempotently(request)

    def prepare(self, request) -> PreparedPublicBooking:
        booking_rate_limit(request)
        serializer = PublicBookingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        service = service_for_key_cached(data["org_slug"].strip(), data["service_slug"].strip(), request.auth)
        org_ids = [service.organization_id]
        try:
            host = staff_by_ref_cached(org_ids, data["host_id"]) if data.get("host_id") else None
            team = team_by_ref(org_ids, data["team_id"]) if data.get("team_id") else None
            location = location_by_ref(org_ids, data["location_id"]) if data.get("location_id") else None
        except NotFound as exc:
            raise Unprocessable(f"{exc.detail}: no such host, team or location in this organization") from exc
        return public_booking_prepare(
            api_key=request.auth,
            service=service,
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            timezone=data["timezone"],
            contact=data["contact"],
            party_size=data["party_size"],
            host=host,
            team=team,
            location=location,
            notes=data["notes"],
        )

    def perform(self, request, prepared: PreparedPublicBooking) -> Response:
        created = public_booking_create(prepared=prepared)
        return Response(created_booking_data(created.booking, created.participant), status=status.HTTP_201_CREATED)


class PublicBookingLookupView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="public_booking_lookup",
        summary="Look a booking up by confirmation number and contact",
        parameters=[
            OpenApiParameter("contact", str, required=True, description="Email or phone used when booking"),
        ],
        responses={200: PublicBookingLookupSerializer, **error_responses(400, 403, 404, 429)},
    )
    def get(self, request, confirmation_number: str):
        found = booking_lookup(
            confirmation_number=confirmation_number,
            contact=request.query_params.get("contact"),
            client_ip=BaseThrottle().get_ident(request),
        )
        return Response(looked_up_booking_data(found.booking, contact=found.contact))


class PublicBookingInviteView(APIView):
    """The calendar file. The signed token in the link is the only credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def perform_content_negotiation(self, request, force=False):
        # A calendar client asks for text/calendar; errors are still JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="public_booking_invite",
        summary="Calendar invite (RFC 5545) of a booking",
        parameters=[
            OpenApiParameter("token", str, required=True, description="From the ics_url handed out"),
            OpenApiParameter("participant", str, description="From the ics_url of a group session's participant"),
        ],
        responses={
            (200, "text/calendar"): OpenApiResponse(OpenApiTypes.BINARY, description="text/calendar"),
            **error_responses(404),
        },
    )
    def get(self, request, booking_id: str):
        booking = booking_by_ref(Booking.objects.select_related("organization", "service", "location"), booking_id)
        participant = None
        participant_ref = request.query_params.get("participant")
        if participant_ref is not None:
            participant = _participant_of(booking, participant_ref)
        if not invite_token_valid(booking, request.query_params.get("token"), participant):
            raise NotFound("Booking not found")
        response = HttpResponse(
            booking_ics(booking, participant=participant), content_type="text/calendar; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{booking.confirmation_number}.ics"'
        response["Cache-Control"] = "private, no-store"
        return response


def _participant_of(booking: Booking, ref: str) -> Participant:
    """The participant of a group session whose own invite is asked for; else the booking's 404."""
    return participant_by_ref(booking.participants.select_related("customer"), ref, label="Booking")
