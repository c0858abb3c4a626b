"""django-filter filter sets of the resource API. Related objects are filtered by uuid."""

import django_filters as filters
from django.db.models import Q

from bookings.api.filtering import StrictFilterSet
from bookings.models import Participant, RecurringSeries
from holds.models import Hold
from organizations.models import ApiKey, Customer, Location, Service, StaffMember, TimeOff, WorkingHours


class LocationFilter(StrictFilterSet):
    class Meta:
        model = Location
        fields = ["kind"]


class ServiceFilter(StrictFilterSet):
    location = filters.UUIDFilter(field_name="locations__uuid")
    staff = filters.UUIDFilter(field_name="staff__uuid")

    class Meta:
        model = Service
        fields = ["kind", "active", "slug"]


class StaffFilter(StrictFilterSet):
    team = filters.UUIDFilter(field_name="teams__uuid")

    class Meta:
        model = StaffMember
        fields = ["active"]


class ScheduleRuleFilter(StrictFilterSet):
    staff = filters.UUIDFilter(field_name="staff__uuid")
    location = filters.UUIDFilter(field_name="location__uuid")


class WorkingHoursFilter(ScheduleRuleFilter):
    class Meta:
        model = WorkingHours
        fields = ["weekday"]


class TimeOffFilter(ScheduleRuleFilter):
    starts_after = filters.IsoDateTimeFilter(field_name="ends_at", lookup_expr="gt", label="Ends after this time")
    starts_before = filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt", label="Starts before this time")

    class Meta:
        model = TimeOff
        fields: list[str] = []


class CustomerFilter(StrictFilterSet):
    email = filters.CharFilter(field_name="email", lookup_expr="iexact")
    name = filters.CharFilter(method="filter_name", label="First or last name contains")

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_name(self, queryset, name, value):
        return queryset.filter(Q(first_name__icontains=value) | Q(last_name__icontains=value))


class ParticipantFilter(StrictFilterSet):
    booking = filters.UUIDFilter(field_name="booking__uuid")
    customer = filters.UUIDFilter(field_name="customer__uuid")

    class Meta:
        model = Participant
        fields = ["status"]


class SeriesFilter(StrictFilterSet):
    service = filters.UUIDFilter(field_name="service__uuid")
    location = filters.UUIDFilter(field_name="location__uuid")
    cancelled = filters.BooleanFilter(field_name="cancelled_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = RecurringSeries
        fields: list[str] = []


class HoldFilter(StrictFilterSet):
    service = filters.UUIDFilter(field_name="service__uuid")
    location = filters.UUIDFilter(field_name="location__uuid")
    starts_after = filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = Hold
        fields = ["status"]


class ApiKeyFilter(StrictFilterSet):
    revoked = filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = ApiKey
        fields = ["kind"]
