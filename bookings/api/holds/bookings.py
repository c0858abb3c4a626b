"""`/api/v1/bookings`: book from a hold, list, show, change, cancel (holds-bookings reference).

Session tokens book, list and show only what they created; customer keys only read what is
theirs; a public key (it lives in browser code) reads nothing here (403); changing a booking needs
a business or hub key. Another tenant's booking is 404.
"""

import django_filters
from django.db.models import Prefetch, Q
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from bookings.api.holds.serializers import (
    BookingCreateSerializer,
    BookingSerializer,
    BookingUpdateSerializer,
    CancelSerializer,
    RescheduleSerializer,
)
from bookings.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IdempotentCreateMixin
from bookings.api.schema import error_responses
from bookings.models import Booking, BookingStatus, Participant
from bookings.selectors import (
    BOOKING_RELATED,
    booking_by_ref,
    bookings_visible_to,
    hold_for_key,
    own_place,
    staff_by_ref,
)
from bookings.services.actors import actor_for_request
from bookings.services.booking_changes import booking_update
from bookings.services.bookings import booking_reschedule
from bookings.services.hold_bookings import Client, PreparedHoldBooking, hold_booking_create, hold_booking_prepare
from bookings.services.status import booking_cancel, booking_transition
from organizations.auth import request_api_key
from organizations.models import ApiKey

K = ApiKey.Kind
MANAGE_KINDS = (K.BUSINESS, K.HUB)
KINDS_BY_ACTION = {
    "create": (K.SESSION, K.BUSINESS, K.HUB),
    # Scoped by `bookings_visible_to`. Not a public key: anyone can read it in a widget's page.
    "list": (K.SESSION, K.CUSTOMER, K.BUSINESS, K.HUB),
    "retrieve": (K.SESSION, K.CUSTOMER, K.BUSINESS, K.HUB),
}
ERRORS = error_responses(400, 401, 403, 404, 409, 422)
SOURCE = "holds_api"


class BookingFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=BookingStatus.choices)
    service = django_filters.UUIDFilter(field_name="service__uuid")
    location = django_filters.UUIDFilter(field_name="location__uuid")
    staff = django_filters.UUIDFilter(field_name="staff__uuid")
    series = django_filters.UUIDFilter(field_name="series__uuid")
    email = django_filters.CharFilter(method="filter_email", label="Client email (case-insensitive)")
    customer_email = django_filters.CharFilter(method="filter_email", label="Same as `email`")
    starts_at = django_filters.IsoDateTimeFromToRangeFilter(
        label="starts_at_after / starts_at_before (ISO 8601, inclusive)"
    )

    class Meta:
        model = Booking
        fields = ["status", "service", "location", "staff", "series", "email", "customer_email", "starts_at"]

    def filter_email(self, queryset, name, value):
        email = value.strip()
        match = Q(contact_email__iexact=email) | Q(customer__email__iexact=email)
        key = getattr(self.request, "auth", None)  # DRF's request: the key it authenticated
        if isinstance(key, ApiKey) and key.kind == K.CUSTOMER:
            # A class a customer joined matches their own email, never its booker's.
            own = Q(participants__customer_id=key.customer_id, participants__customer__email__iexact=email)
            return queryset.filter((match & Q(customer_id=key.customer_id)) | own).distinct()
        return queryset.filter(match)


class BookingViewSet(IdempotentCreateMixin, viewsets.GenericViewSet):
    serializer_class = BookingSerializer
    filterset_class = BookingFilter
    ordering_fields = ["starts_at", "ends_at", "created_at", "updated_at", "status"]
    ordering = ["starts_at", "id"]
    lookup_field = "public_id"  # any of the booking's ids is accepted: see `booking_by_ref`
    lookup_url_kwarg = "id"

    @property
    def allowed_key_kinds(self):
        return KINDS_BY_ACTION.get(self.action, MANAGE_KINDS)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no key
            return Booking.objects.none()
        return bookings_visible_to(request_api_key(self.request))

    def get_object(self) -> Booking:
        return booking_by_ref(self.get_queryset(), self.kwargs["id"])

    def _shown(self, booking_email: str | None = None) -> dict:
        """The serializer context: a reader of a class sees only their own place in it (`own_place`)."""
        key = request_api_key(self.request)
        if key.kind in MANAGE_KINDS:  # the merchant reads the whole class
            return {}
        return {"own_place": lambda booking: own_place(booking, key, booker_email=booking_email)}

    def _answer(self, booking: Booking, code: int = status.HTTP_200_OK, *, booker_email: str | None = None) -> Response:
        """The booking as it now is, with everything the resource nests loaded in one query."""
        booking = (
            Booking.objects.select_related(*BOOKING_RELATED)
            .prefetch_related(Prefetch("participants", queryset=Participant.objects.select_related("customer")))
            .get(pk=booking.pk)
        )
        return Response(BookingSerializer(booking, context=self._shown(booker_email)).data, status=code)

    @extend_schema(summary="List bookings", responses={200: BookingSerializer(many=True), **ERRORS})
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(BookingSerializer(page, many=True, context=self._shown()).data)

    @extend_schema(summary="Show a booking", responses={200: BookingSerializer, **ERRORS})
    def retrieve(self, request, id=None):
        return Response(BookingSerializer(self.get_object(), context=self._shown()).data)

    @extend_schema(
        summary="Book a held slot",
        description="Converts the hold; a service with a deposit answers `pending` with a `redirect_url`.",
        request=BookingCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: BookingSerializer, **ERRORS},
    )
    def create(self, request):
        return self.create_idempotently(request)

    def prepare(self, request) -> PreparedHoldBooking:
        body = BookingCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        client = values["client"]
        return hold_booking_prepare(
            hold=hold_for_key(values["hold_id"], request.auth),
            client=Client(
                first_name=client["first_name"],
                last_name=client["last_name"],
                email=client["email"],
                phone=client.get("phone", ""),
            ),
            actor=actor_for_request(request),
            source=SOURCE,
            notes=values["notes"],
            custom_field_values=values["custom_field_values"],
        )

    def perform(self, request, prepared: PreparedHoldBooking) -> Response:
        booking = hold_booking_create(prepared=prepared)
        return self._answer(booking, status.HTTP_201_CREATED, booker_email=prepared.client.email)

    @extend_schema(
        summary="Change a booking (business or hub key)",
        request=BookingUpdateSerializer,
        responses={200: BookingSerializer, **ERRORS},
    )
    def partial_update(self, request, id=None):
        booking = self.get_object()
        body = BookingUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = booking_update(booking=booking, actor=actor_for_request(request), **body.validated_data)
        return self._answer(booking)

    @extend_schema(summary="Cancel a booking (idempotent)", request=None, responses={200: BookingSerializer, **ERRORS})
    def destroy(self, request, id=None):
        booking = booking_cancel(
            booking=self.get_object(), actor=actor_for_request(request), reason="Cancelled through the API"
        )
        return self._answer(booking)

    @extend_schema(summary="Cancel", request=CancelSerializer, responses={200: BookingSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request, id=None):
        booking = self.get_object()
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = booking_cancel(
            booking=booking, actor=actor_for_request(request), reason=body.validated_data["reason"]
        )
        return self._answer(booking)

    def _transition(self, request, to_status: str) -> Response:
        booking = booking_transition(booking=self.get_object(), to_status=to_status, actor=actor_for_request(request))
        return self._answer(booking)

    @extend_schema(summary="Confirm", request=None, responses={200: BookingSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def confirm(self, request, id=None):
        return self._transition(request, BookingStatus.CONFIRMED)

    @extend_schema(summary="Mark completed", request=None, responses={200: BookingSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def complete(self, request, id=None):
        return self._transition(request, BookingStatus.COMPLETED)

    @extend_schema(summary="Mark as a no-show", request=None, responses={200: BookingSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, id=None):
        return self._transition(request, BookingStatus.NO_SHOW)

    @extend_schema(
        summary="Move to another slot", request=RescheduleSerializer, responses={200: BookingSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request, id=None):
        booking = self.get_object()
        body = RescheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        staff = staff_by_ref([booking.organization_id], values["staff_id"]) if values.get("staff_id") else None
        booking = booking_reschedule(
            booking=booking, starts_at=values["starts_at"], staff=staff, actor=actor_for_request(request)
        )
        return self._answer(booking)
