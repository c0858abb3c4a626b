"""Viewsets of the resource API: thin adapters that scope every query to the key's organizations.

Another tenant's object is simply absent from the queryset, so it answers 404 like a missing one.
"""

import uuid

from django.db import transaction
from django.db.models import ProtectedError, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from bookings.api.resources import booking_serializers as bs
from bookings.api.resources import filters
from bookings.api.resources import serializers as cs
from bookings.api.resources.pagination import BoundedLimitOffsetPagination
from bookings.api.resources.schema import ResourceAutoSchema
from bookings.models import Participant, RecurringSeries
from bookings.services.actors import actor_for_request
from bookings.services.bookings import participant_leave
from bookings.services.holds import hold_release
from bookings.services.series import series_cancel
from holds.models import Hold
from organizations.auth import request_api_key
from organizations.errors import Conflict
from organizations.keys import api_key_create, api_key_revoke, key_organization_ids
from organizations.models import (
    ApiKey,
    Customer,
    DateOverride,
    Location,
    Organization,
    Service,
    StaffMember,
    Team,
    TimeOff,
    WorkingHours,
)


class CrudMixin(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin):
    """List, retrieve, create and update; each resource adds its own destroy (protected or plain)."""


class TenantViewSet(viewsets.GenericViewSet):
    """Business and hub keys only; objects looked up by uuid within the key's organizations."""

    allowed_key_kinds = (ApiKey.Kind.BUSINESS, ApiKey.Kind.HUB)
    missing_key_message = "Missing API key"
    lookup_field = "uuid"
    organization_lookup = "organization_id"
    ordering = ["id"]
    pagination_class = BoundedLimitOffsetPagination
    schema = ResourceAutoSchema()

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset.filter(
            **{f"{self.organization_lookup}__in": key_organization_ids(request_api_key(self.request))}
        )


class ProtectedDestroyMixin(mixins.DestroyModelMixin):
    """Deleting something bookings still point at is a 409, never a 500: deactivate it instead."""

    error_codes = (409,)

    def perform_destroy(self, instance):
        try:
            with transaction.atomic():
                instance.delete()
        except ProtectedError as exc:
            name = instance._meta.verbose_name
            raise Conflict(f"This {name} is used by bookings or series and cannot be deleted") from exc


@extend_schema(tags=["organizations"])
class OrganizationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, TenantViewSet):
    """The key's organizations. Only the booking policy can be changed here."""

    queryset = Organization.objects.all()
    serializer_class = cs.OrganizationSerializer
    organization_lookup = "id"
    ordering_fields = ["id", "name", "slug", "created_at"]


@extend_schema(tags=["locations"])
class LocationViewSet(CrudMixin, ProtectedDestroyMixin, TenantViewSet):
    queryset = Location.objects.select_related("organization")
    serializer_class = cs.LocationSerializer
    filterset_class = filters.LocationFilter
    ordering_fields = ["id", "name", "created_at"]


@extend_schema(tags=["services"])
class ServiceViewSet(CrudMixin, ProtectedDestroyMixin, TenantViewSet):
    queryset = Service.objects.select_related("organization").prefetch_related("locations", "staff")
    serializer_class = cs.ServiceSerializer
    filterset_class = filters.ServiceFilter
    ordering_fields = ["id", "name", "slug", "duration_minutes", "price_minor", "created_at"]


@extend_schema(tags=["staff"])
class StaffViewSet(CrudMixin, ProtectedDestroyMixin, TenantViewSet):
    """Staff members, each with their weekly working hours and time off (changed under /working-hours/
    and /time-off/)."""

    queryset = StaffMember.objects.select_related("organization")
    serializer_class = cs.StaffSerializer
    filterset_class = filters.StaffFilter
    ordering_fields = ["id", "name", "created_at"]


@extend_schema(tags=["staff"])
class WorkingHoursViewSet(CrudMixin, mixins.DestroyModelMixin, TenantViewSet):
    """Weekly hours of a staff member or a location, in its local time."""

    queryset = WorkingHours.objects.select_related("organization", "staff", "location")
    serializer_class = cs.WorkingHoursSerializer
    filterset_class = filters.WorkingHoursFilter
    ordering = ["weekday", "start_time", "id"]
    ordering_fields = ["weekday", "start_time", "id"]


@extend_schema(tags=["staff"])
class TimeOffViewSet(CrudMixin, mixins.DestroyModelMixin, TenantViewSet):
    """Blocked ranges (holidays, sick days, maintenance) of a staff member or a location."""

    queryset = TimeOff.objects.select_related("organization", "staff", "location")
    serializer_class = cs.TimeOffSerializer
    filterset_class = filters.TimeOffFilter
    ordering = ["starts_at", "id"]
    ordering_fields = ["starts_at", "ends_at", "id"]


@extend_schema(tags=["staff"])
class DateOverrideViewSet(CrudMixin, mixins.DestroyModelMixin, TenantViewSet):
    """One local date closed, or open at other hours than the weekly ones."""

    queryset = DateOverride.objects.select_related("organization", "staff", "location")
    serializer_class = cs.DateOverrideSerializer
    filterset_class = filters.ScheduleRuleFilter
    ordering = ["date", "start_time", "id"]
    ordering_fields = ["date", "id"]


@extend_schema(tags=["teams"])
class TeamViewSet(CrudMixin, mixins.DestroyModelMixin, TenantViewSet):
    queryset = Team.objects.select_related("organization").prefetch_related("members")
    serializer_class = cs.TeamSerializer
    ordering_fields = ["id", "name", "created_at"]


@extend_schema(tags=["customers"])
class CustomerViewSet(CrudMixin, ProtectedDestroyMixin, TenantViewSet):
    queryset = Customer.objects.select_related("organization")
    serializer_class = cs.CustomerSerializer
    filterset_class = filters.CustomerFilter
    ordering_fields = ["id", "first_name", "last_name", "email", "created_at"]


@extend_schema(tags=["participants"])
class ParticipantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Customers taking part in group bookings."""

    queryset = Participant.objects.select_related("booking", "customer")
    serializer_class = bs.ParticipantSerializer
    filterset_class = filters.ParticipantFilter
    organization_lookup = "booking__organization_id"
    ordering_fields = ["id", "created_at"]

    @extend_schema(request=None, responses=bs.ParticipantSerializer)
    @action(detail=True, methods=["post"])
    def leave(self, request, uuid=None):
        """The participant leaves the group booking; their seats are free again."""
        participant = self.get_object()
        participant = participant_leave(participant=participant, actor=actor_for_request(request))
        return Response(self.get_serializer(participant).data)


@extend_schema(tags=["series"])
class SeriesViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Recurring series created through POST /bookings/merchant."""

    queryset = RecurringSeries.objects.select_related("organization", "service", "location", "staff").prefetch_related(
        "bookings"
    )
    serializer_class = bs.SeriesSerializer
    filterset_class = filters.SeriesFilter
    ordering_fields = ["id", "created_at", "dtstart_local"]

    @extend_schema(request=bs.SeriesCancelSerializer, responses=bs.SeriesSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, uuid=None):
        """Cancel every active occurrence, or `from_booking` and every later one."""
        series = self.get_object()
        payload = bs.SeriesCancelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        from_booking = None
        if payload.validated_data.get("from_booking"):
            from_booking = self._occurrence(series, payload.validated_data["from_booking"])
        series_cancel(
            series=series,
            from_booking=from_booking,
            actor=actor_for_request(request),
            reason=payload.validated_data["reason"],
        )
        return Response(self.get_serializer(self.get_object()).data)

    @staticmethod
    def _occurrence(series, identifier: str):
        match = Q(public_id=identifier) | Q(confirmation_number=identifier.upper())
        try:
            match |= Q(uuid=uuid.UUID(identifier))
        except ValueError:
            pass
        booking = series.bookings.filter(match).first()
        if booking is None:
            raise ValidationError({"from_booking": "is not an occurrence of this series."})
        return booking


@extend_schema(tags=["holds"])
class HoldViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    queryset = Hold.objects.select_related("organization", "service", "location", "staff")
    serializer_class = bs.HoldSerializer
    filterset_class = filters.HoldFilter
    ordering = ["-id"]
    ordering_fields = ["id", "starts_at", "expires_at"]

    @extend_schema(request=None, responses=bs.HoldSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, uuid=None):
        """Give the held slot back before the hold expires. Releasing twice changes nothing."""
        hold = self.get_object()
        hold = hold_release(hold=hold, actor=actor_for_request(request))
        return Response(self.get_serializer(hold).data)


@extend_schema(tags=["api-keys"])
class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantViewSet):
    """Keys of the caller's organizations. The secret is in the creation answer only."""

    queryset = ApiKey.objects.prefetch_related("organizations").select_related("customer")
    serializer_class = bs.ApiKeySerializer
    filterset_class = filters.ApiKeyFilter
    ordering = ["-id"]
    ordering_fields = ["id", "created_at", "last_used_at"]

    def get_queryset(self):
        queryset = super(TenantViewSet, self).get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        # A key is visible only if every organization it covers is one of the caller's.
        ids = key_organization_ids(request_api_key(self.request))
        return (
            queryset.filter(organizations__id__in=ids)
            .exclude(organizations__in=Organization.objects.exclude(id__in=ids))
            .distinct()
        )

    @extend_schema(request=bs.ApiKeySerializer, responses={201: bs.ApiKeyCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key, secret = api_key_create(
            kind=data["kind"],
            organizations=data["organizations"],
            customer=data.get("customer"),
            name=data.get("name", ""),
            expires_at=data.get("expires_at"),
        )
        body = bs.ApiKeyCreatedSerializer(key, context=self.get_serializer_context()).data
        return Response({**body, "secret": secret}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=bs.ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, uuid=None):
        """The key stops working at once. Revoking twice changes nothing."""
        key = api_key_revoke(api_key=self.get_object())
        return Response(self.get_serializer(key).data)
