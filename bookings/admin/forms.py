"""Forms of the booking pages: they validate and shape input; the views call the services with it.

Every choice is scoped to the user's organizations (a posted id of another tenant is "Select a
valid choice"), and everything chosen must belong to the service's organization. Dates and times
are typed in the location's local time; the free times offered come from the engine.
"""

from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect

from bookings.admin.tenancy import EVERYONE, choices_of, scope
from bookings.admin.times import aware, day_start, local_time_exists
from bookings.availability import find_slots
from bookings.models import Booking
from bookings.services.merchant_bookings import NewCustomer
from organizations.models import Customer, Location, Service, StaffMember

# The engine speaks the APIs' field names; the admin's fields are called otherwise.
_API_NAMES = {"host_id:": "Staff member:", "team_id:": "Team:", "party_size:": "Party size:", "starts_at": "the time"}


def domain_message(detail: str) -> str:
    """A domain error's detail as the admin's forms call things."""
    for api, label in _API_NAMES.items():
        detail = detail.replace(api, label)
    return detail


class _TimeChoice(forms.Form):
    """A local date, and a time: one of the engine's free times, or typed."""

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="In the location's local time.")
    slot = forms.ChoiceField(required=False, widget=forms.RadioSelect, label="Free times")
    time = forms.TimeField(
        required=False,
        label="Or type a time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Local time (HH:MM). The booking rules still apply: a taken or closed time is refused.",
    )

    def _slot_field(self) -> forms.ChoiceField:
        field = self.fields["slot"]
        assert isinstance(field, forms.ChoiceField)
        return field

    def _value(self, name: str):
        """A field's submitted (or initial) value, cleaned; None when it is missing or invalid."""
        try:
            return self.fields[name].clean(self[name].value())
        except forms.ValidationError:
            return None

    def _offer(self, service: Service | None, location: Location | None, staff: StaffMember | None, names: dict):
        """Fill the free times of the chosen date (the engine's, at this location, by this staff member)."""
        day = self._value("date")
        if service is None or location is None or day is None:
            self._slot_field().choices = []
            return
        zone = location.tz
        start, end = day_start(day, zone), day_start(day + timedelta(days=1), zone)
        choices = []
        for slot in find_slots(service, start, end, location=location, staff=staff):
            local = slot.starts_at.astimezone(zone)
            who = ", ".join(names.get(staff_id, "?") for staff_id in slot.staff_ids)
            seats = f", {slot.capacity} seats left" if slot.capacity is not None else ""
            choices.append((f"{local:%H:%M}", f"{local:%H:%M}" + (f" ({who}{seats})" if who or seats else "")))
        self._slot_field().choices = choices
        self.free_times_zone = zone.key

    def local_start(self, location: Location) -> datetime | None:
        """The chosen local date and time as an instant in the location's zone (errors added if not)."""
        day: date | None = self.cleaned_data.get("date")
        picked = self.cleaned_data.get("time") or self.cleaned_data.get("slot")
        if day is None:
            return None
        if not picked:
            self.add_error("time", "Pick one of the free times, or type a time.")
            return None
        at = picked if isinstance(picked, time) else time.fromisoformat(picked)
        zone = location.tz
        if not local_time_exists(day, at, zone):
            self.add_error("time", f"{at:%H:%M} does not exist on {day} in {zone.key} (the clocks go forward).")
            return None
        return aware(day, at, zone)


class BookingCreateForm(_TimeChoice):
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="The service's location (if it has one)"
    )
    staff = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), required=False, empty_label="Any free staff member"
    )
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), required=False, label="Existing customer")
    first_name = forms.CharField(max_length=100, required=False, label="Or a new customer: first name")
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(required=False, help_text="The confirmation is emailed here.")
    phone = forms.CharField(max_length=40, required=False)
    party_size = forms.IntegerField(min_value=1, initial=1)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    field_order = ["service", "location", "staff", "date", "slot", "time", "customer", "first_name", "last_name"]

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        choices_of(self, "service").queryset = scope(
            Service.objects.filter(active=True).select_related("organization").order_by("organization__name", "name"),
            request,
            EVERYONE,
        )
        choices_of(self, "location").queryset = scope(
            Location.objects.select_related("organization"), request, EVERYONE
        )
        self.staff_choices = scope(StaffMember.objects.filter(active=True), request, EVERYONE)
        choices_of(self, "staff").queryset = self.staff_choices
        # Searched as it is typed (the admin's autocomplete, itself scoped to the user's customers).
        self.fields["customer"].widget = AutocompleteSelect(Booking._meta.get_field("customer"), admin.site)
        choices_of(self, "customer").queryset = scope(Customer.objects.all(), request, EVERYONE)
        service = self._value("service")
        self._offer(service, self._location_of(service, self._value("location")), self._value("staff"), self._names())

    def _names(self) -> dict[int, str]:
        return dict(self.staff_choices.values_list("id", "name"))

    @staticmethod
    def _location_of(service: Service | None, location: Location | None) -> Location | None:
        if service is None or location is not None:
            return location
        offered = list(service.locations.select_related("organization")[:2])
        return offered[0] if len(offered) == 1 else None

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        service: Service | None = cleaned.get("service")
        if service is None:
            return cleaned
        organization_id = service.organization_id
        location = self._location_of(service, cleaned.get("location"))
        if location is None and "location" not in self.errors:
            self.add_error("location", "This service is offered at several locations (or none): choose one.")
        elif location is not None and not service.locations.filter(pk=location.pk).exists():
            self.add_error("location", f"{service.name} is not offered at {location.name}.")
            location = None
        staff: StaffMember | None = cleaned.get("staff")
        if staff is not None and (
            staff.organization_id != organization_id or not service.staff.filter(pk=staff.pk).exists()
        ):
            self.add_error("staff", f"{staff.name} does not offer {service.name}.")
        customer: Customer | None = cleaned.get("customer")
        if customer is not None and customer.organization_id != organization_id:
            self.add_error("customer", "This customer belongs to another organization.")
        if customer is None and not cleaned.get("first_name", "").strip() and "customer" not in self.errors:
            self.add_error("customer", "Choose an existing customer, or give a new customer's first name.")
        cleaned["location"] = location
        cleaned["starts_at"] = self.local_start(location) if location is not None else None
        return cleaned

    def booking_customer(self) -> Customer | NewCustomer:
        data = self.cleaned_data
        if data.get("customer") is not None:
            return data["customer"]
        return NewCustomer(
            first_name=data["first_name"].strip(),
            last_name=data.get("last_name", ""),
            email=data.get("email", ""),
            phone=data.get("phone", ""),
        )


class RescheduleForm(_TimeChoice):
    staff = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), required=False, empty_label="The same staff member"
    )

    field_order = ["date", "staff", "slot", "time"]

    def __init__(self, *args, booking: Booking, **kwargs):
        super().__init__(*args, **kwargs)
        self.booking = booking
        staff = booking.service.staff.filter(active=True, organization_id=booking.organization_id)
        choices_of(self, "staff").queryset = staff
        chosen = self._value("staff") or booking.staff
        self._offer(booking.service, booking.location, chosen, dict(staff.values_list("id", "name")))

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        cleaned["starts_at"] = self.local_start(self.booking.location)
        return cleaned


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept on the booking and told to the customer.",
    )
