"""Booking online at `/book/<org>/`, one small class per step (as pretix's checkout flow):

1. ServicesStep: the organization's services, with duration, price and deposit.
2. SlotsStep: location and staff where there is a choice ("anyone" by default), a day picker, the
   day's free slots by part of the day, the time zone shown and switchable. Picking a slot places a
   hold, tied to this browser by its session (the hold's uuid is kept there; a hold another browser
   placed is never shown or converted here). Picking again releases the previous hold.
3. DetailsStep: "held for you until 14:10", then contact details and notes; confirming converts the
   hold (a deposit goes on to Stripe Checkout). A slot taken meanwhile shows fresh alternatives on
   the same page; a hold that expired while its slot is still free is simply placed again.
4. ConfirmedStep: the confirmation number, the details in the chosen zone, add-to-calendar links
   and the manage link.
"""

import zoneinfo
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone as djtz
from django.utils.translation import gettext as _

from bookings.availability import find_slots
from bookings.models import Booking
from bookings.money import money
from bookings.pages.common import (
    CONTACT_SESSION_KEY,
    Page,
    chosen_zone,
    client_ip,
    duration_text,
    local_day_bounds,
    rate_limit,
    render_in_zone,
    retry_words,
    session_booking_remember,
    session_hold_forget,
    session_hold_remember,
    session_holds,
    session_owns_booking,
    timezone_choices,
    today_in,
)
from bookings.pages.days import day_picker, parse_day
from bookings.pages.forms import ContactForm, SlotPickForm
from bookings.pages.presenters import booking_context
from bookings.payments.checkout import PaymentProviderError, deposit_refusal
from bookings.selectors import (
    bookable_service,
    bookable_services,
    booking_by_public_id,
    holds_by_uuids,
    organization_by_slug,
)
from bookings.services.hold_bookings import Client, hold_booking_create, hold_booking_prepare
from bookings.services.holds import hold_place, hold_release
from bookings.services.lookup import BookingContact, LookedUp
from bookings.services.self_service import CUSTOMER, ManagedBooking, managed_booking
from holds.models import Hold
from organizations.errors import Conflict, DomainError, InvalidInput, NotFound, RateLimited
from organizations.models import Location, Organization, Service, StaffMember

SOURCE = "booking_page"
ANYONE = "any"
ALTERNATIVES_SHOWN = 12


def service_summary(service: Service, organization: Organization) -> dict:
    refusal = deposit_refusal(service)
    return {
        "service": service,
        "duration": duration_text(service.duration_minutes),
        "price": money(service.price_minor, organization.currency) if service.price_minor else _("Free"),
        "deposit": money(service.deposit_minor, organization.currency) if service.deposit_minor else "",
        "bookable": refusal is None,
        "url": reverse("pages:book-slots", args=[organization.slug, service.slug]),
    }


class ServicesStep(Page):
    def get(self, request, org_slug: str):
        organization = organization_by_slug(org_slug)
        services = [service_summary(s, organization) for s in bookable_services(organization)]
        return render_in_zone(
            request,
            "pages/book_services.html",
            {"organization": organization, "services": services},
            zone=organization.timezone,
        )


class SlotFilters:
    """What the slots page is filtered by, from its query string (or a slot button's form)."""

    def __init__(self, params, service: Service):
        self.service = service
        organization = service.organization
        self.locations: list[Location] = list(service.locations.all())
        self.staff_members: list[StaffMember] = list(service.staff.all())
        asked_location = str(params.get("location", "")).strip()
        self.location = next((loc for loc in self.locations if str(loc.uuid) == asked_location), self.locations[0])
        asked_staff = str(params.get("staff", "")).strip()
        self.staff = next((m for m in self.staff_members if str(m.uuid) == asked_staff), None)
        self.zone = chosen_zone(params.get("tz"), organization)
        self.zone_asked = bool(params.get("tz"))
        self.max_seats = min(service.capacity_max, service.max_party_size) if service.is_group else 1
        try:
            seats = int(params.get("seats") or 1)
        except (TypeError, ValueError):
            seats = 1
        self.seats = min(max(seats, 1), self.max_seats)
        self.day = parse_day(params.get("date"))

    @property
    def staff_value(self) -> str:
        return str(self.staff.uuid) if self.staff is not None else ANYONE

    def query(self, **changes) -> str:
        values = {
            "location": str(self.location.uuid),
            "staff": self.staff_value,
            "tz": self.zone,
            "seats": self.seats,
        }
        if self.day:
            values["date"] = self.day.isoformat()
        values.update({k: v for k, v in changes.items()})
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})

    def find(self, start, end):
        return find_slots(self.service, start, end, location=self.location, staff=self.staff, party_size=self.seats)


def slots_context(request, organization: Organization, service: Service, filters: SlotFilters) -> dict:
    last_day = today_in(filters.zone) + timedelta(days=organization.max_advance_days)
    picker = day_picker(find=filters.find, zone=filters.zone, asked=filters.day, last_day=last_day)
    base = reverse("pages:book-slots", args=[organization.slug, service.slug])
    return {
        "organization": organization,
        "service": service,
        "summary": service_summary(service, organization),
        "filters": filters,
        "picker": picker,
        "days": [{"item": d, "url": f"{base}?{filters.query(date=d.day.isoformat())}"} for d in picker.days],
        "next_url": f"{base}?{filters.query(date=picker.next_available.isoformat())}" if picker.next_available else "",
        "earlier_url": f"{base}?{filters.query(date=picker.earlier.isoformat())}" if picker.earlier else "",
        "later_url": f"{base}?{filters.query(date=picker.later.isoformat())}" if picker.later else "",
        "timezones": timezone_choices(),
        "seat_choices": range(1, filters.max_seats + 1),
        "action": base,
    }


class SlotsStep(Page):
    template = "pages/book_slots.html"

    def load(self, request, *, org_slug: str, service_slug: str) -> None:  # type: ignore[override]  # its URL's arguments
        self.organization = organization_by_slug(org_slug)
        self.service = bookable_service(self.organization, service_slug)

    def get(self, request, org_slug: str, service_slug: str):
        return self.render(request, SlotFilters(request.GET, self.service))

    def render(self, request, filters: SlotFilters, *, error: str = "", status: int = 200):
        context = slots_context(request, self.organization, self.service, filters)
        context["error"] = error
        return render_in_zone(request, self.template, context, zone=filters.zone, status=status)

    def post(self, request, org_slug: str, service_slug: str):
        """A slot button: hold the slot for this browser, then ask for the contact details."""
        filters = SlotFilters(request.POST, self.service)
        form = SlotPickForm(request.POST)
        if not form.is_valid():
            return self.render(request, filters, error=_("Pick one of the times shown."), status=400)
        refusal = deposit_refusal(self.service)
        if refusal:
            return self.render(request, filters, error=_("This service cannot be booked online right now."), status=422)
        start = form.cleaned_data["start"]
        try:
            rate_limit(request, group="page-hold", rate=settings.PAGE_HOLD_RATE_LIMIT)
            hold = hold_place(
                service=self.service,
                location=filters.location,
                starts_at=start,
                staff=filters.staff,
                party_size=filters.seats,
                client_address=client_ip(request),
            )
        except RateLimited as exc:
            return self.render(request, filters, error=retry_words(exc), status=429)
        except DomainError as exc:
            filters.day = start.astimezone(zoneinfo.ZoneInfo(filters.zone)).date()
            message = (
                _("Sorry, that time was just taken. Here are the times still free.")
                if isinstance(exc, Conflict)
                else _("That time cannot be booked: %(reason)s. Here are the times still free.")
                % {"reason": exc.detail}
            )
            return self.render(request, filters, error=message, status=exc.status_code)
        previous = list(session_holds(request))
        session_hold_remember(request, str(hold.uuid), zone=filters.zone, staff=filters.staff_value)
        _holds_release(request, self.organization, [uuid for uuid in previous if uuid != str(hold.uuid)])
        return redirect("pages:book-details", self.organization.slug, hold.uuid)


def _holds_release(request, organization: Organization, uuids: list[str]) -> None:
    """Give back the slots this browser held before (one hold at a time per browser)."""
    for hold in holds_by_uuids(None, uuids):
        if hold.status == Hold.Status.ACTIVE:
            hold_release(hold=hold, actor=CUSTOMER)
    for uuid in uuids:
        session_hold_forget(request, uuid)


class DetailsStep(Page):
    template = "pages/book_details.html"

    def load(self, request, *, org_slug: str, hold_uuid) -> None:  # type: ignore[override]  # its URL's arguments
        self.organization = organization_by_slug(org_slug)
        self.hold_uuid = str(hold_uuid)
        owned = session_holds(request).get(self.hold_uuid)
        self.hold: Hold | None = None
        if owned:
            self.hold = next(iter(holds_by_uuids(self.organization, [self.hold_uuid])), None)
            self.zone, self.staff_asked = owned["tz"], owned.get("staff", ANYONE)

    @property
    def held(self) -> Hold:
        """The browser's own hold (the handlers answer a missing one before they use this)."""
        assert self.hold is not None
        return self.hold

    def get(self, request, org_slug: str, hold_uuid):
        if self.hold is None:
            return self._not_yours(request)

        if self.hold.status == Hold.Status.CONVERTED:
            return self._already_booked(request)
        initial = request.session.get(CONTACT_SESSION_KEY, {})
        return self.render(request, ContactForm(service=self.hold.service, initial=initial))

    def render(self, request, form: ContactForm, *, error: str = "", alternatives=None, status: int = 200):
        hold = self.held
        service = hold.service
        filters = SlotFilters(
            {"location": str(hold.location.uuid), "staff": self.staff_asked, "tz": self.zone, "seats": hold.party_size},
            bookable_service(self.organization, service.slug),
        )
        context = {
            "organization": self.organization,
            "hold": hold,
            "service": service,
            "summary": service_summary(service, self.organization),
            "form": form,
            "error": error,
            "alternatives": alternatives,
            "filters": filters,
            "slots_action": reverse("pages:book-slots", args=[self.organization.slug, service.slug]),
            "change_url": reverse("pages:book-slots", args=[self.organization.slug, service.slug])
            + "?"
            + filters.query(date=hold.starts_at.astimezone(zoneinfo.ZoneInfo(self.zone)).date().isoformat()),
            "expired": hold.status != Hold.Status.ACTIVE or hold.expires_at <= djtz.now(),
            "seconds_left": max(0, int((hold.expires_at - djtz.now()).total_seconds())),
        }
        return render_in_zone(request, self.template, context, zone=self.zone, status=status)

    def _not_yours(self, request):
        """Not placed in this browser (or gone): nothing of it is shown, and it cannot be converted here."""
        messages.info(request, _("Please pick a time first."))
        return redirect("pages:book-services", self.organization.slug)

    def post(self, request, org_slug: str, hold_uuid):
        if self.hold is None:
            return self._not_yours(request)
        form = ContactForm(request.POST, service=self.hold.service)
        if not form.is_valid():
            return self.render(request, form, status=400)
        request.session[CONTACT_SESSION_KEY] = {
            key: form.cleaned_data[key] for key in ("name", "email", "phone", "notes")
        }
        if self.hold.status == Hold.Status.CONVERTED:
            return self._already_booked(request)
        first, last = form.split_name()
        client = Client(
            first_name=first, last_name=last, email=form.cleaned_data["email"], phone=form.cleaned_data["phone"]
        )
        try:
            rate_limit(request, group="page-book", rate=settings.BOOKING_RATE_LIMIT)
            hold = self._live_hold(request)
            prepared = hold_booking_prepare(
                hold=hold,
                client=client,
                actor=CUSTOMER,
                source=SOURCE,
                notes=form.cleaned_data["notes"],
                custom_field_values=form.answers(),
                timezone=self.zone,
            )
            booking = hold_booking_create(prepared=prepared, confirmation_email=True)
        except RateLimited as exc:
            return self.render(request, form, error=retry_words(exc), status=429)
        except InvalidInput as exc:
            form.add_error(None, exc.detail)
            return self.render(request, form, status=400)
        except (Conflict, NotFound) as exc:
            # Taken meanwhile (or gone): the times still free, on this same page.
            return self.render(
                request,
                form,
                error=_("Sorry, this time is no longer available. Pick another one below; your details are kept."),
                alternatives=self._alternatives(),
                status=exc.status_code,
            )
        except PaymentProviderError:
            return self.render(
                request,
                form,
                error=_("The payment provider could not be reached. Nothing was booked; please try again."),
                status=502,
            )
        except DomainError as exc:
            return self.render(request, form, error=exc.detail, status=exc.status_code)
        session_booking_remember(request, booking.public_id)
        request.session[f"pages.contact.{booking.public_id}"] = form.cleaned_data["email"]
        if booking.payment_status == Booking.PaymentStatus.REQUIRED and booking.payment_redirect_url:
            return HttpResponseRedirect(booking.payment_redirect_url)  # Stripe Checkout, then back to /payments/
        return redirect("pages:book-confirmed", self.organization.slug, booking.public_id)

    def _live_hold(self, request) -> Hold:
        """The hold, or, if it lapsed while its slot is still free, a new hold on that slot."""
        hold = self.held
        if hold.status == Hold.Status.ACTIVE and hold.expires_at > djtz.now():
            return hold
        if hold.status == Hold.Status.CONVERTED:
            raise Conflict("Hold has already been converted")
        staff = hold.staff if self.staff_asked != ANYONE else None
        fresh = hold_place(
            service=hold.service,
            location=hold.location,
            starts_at=hold.starts_at,
            staff=staff,
            party_size=hold.party_size,
            client_address=client_ip(request),
        )
        session_hold_remember(request, str(fresh.uuid), zone=self.zone, staff=self.staff_asked)
        return fresh

    def _alternatives(self) -> list:
        hold = self.held
        staff = hold.staff if self.staff_asked != ANYONE else None
        day_start, _end = local_day_bounds(hold.starts_at.astimezone(zoneinfo.ZoneInfo(self.zone)).date(), self.zone)
        slots = find_slots(
            hold.service,
            max(day_start, djtz.now()),
            day_start + timedelta(days=14),
            location=hold.location,
            staff=staff,
            party_size=hold.party_size,
        )
        return slots[:ALTERNATIVES_SHOWN]

    def _already_booked(self, request):
        """This hold became a booking already (a second click): show that booking."""
        booking = Booking.objects.filter(hold=self.hold).only("public_id").first()
        if booking is not None and session_owns_booking(request, booking.public_id):
            return redirect("pages:book-confirmed", self.organization.slug, booking.public_id)
        messages.info(request, _("This time is already booked. Find your booking with its confirmation number."))
        return redirect("pages:manage")


class ConfirmedStep(Page):
    def get(self, request, org_slug: str, public_id: str):
        organization = organization_by_slug(org_slug)
        if not session_owns_booking(request, public_id):
            return redirect("pages:manage")
        try:
            booking = booking_by_public_id(public_id)
        except NotFound:
            return redirect("pages:manage")
        if booking.organization_id != organization.pk:
            return redirect("pages:manage")
        return render_confirmation(request, booking)


def render_confirmation(request, booking: Booking, *, template: str = "pages/book_confirmed.html", extra=None):
    """The confirmation of a booking made in this browser, in the zone it was booked in."""
    email = request.session.get(f"pages.contact.{booking.public_id}") or booking.contact_email
    managed = managed_booking(
        LookedUp(booking=booking, contact={"name": booking.contact_name, "email": email, "phone": ""})
    )
    if managed.participant is not None:  # a class: the booker's own place, name and invite
        customer = managed.participant.customer
        contact: BookingContact = {"name": customer.full_name, "email": customer.email, "phone": customer.phone}
        managed = ManagedBooking(booking, contact, managed.participant)
    site = f"{request.scheme}://{request.get_host()}"
    context = {"organization": booking.organization, **booking_context(managed, site_url=site), **(extra or {})}
    return render_in_zone(request, template, context, zone=booking.timezone or booking.location.tz.key)
