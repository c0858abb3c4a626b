"""`/manage-booking`: find a booking, see it, cancel it or move it, without an account.

Finding it is the lookup API's rule (bookings.services.lookup): confirmation number and email or
phone, failures counted per client address and per number. A wrong contact and an unknown number
read the same here. Once found, the page moves to the booking's signed manage link (the one emails
carry): the cancel and reschedule steps carry that token, which opens the booking without the
counters; a wrong or expired token falls back to the form.
"""

import zoneinfo
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bookings.ics import manage_path, manage_token
from bookings.money import money
from bookings.pages.common import Page, client_ip, render_in_zone, retry_words, today_in
from bookings.pages.days import day_picker, parse_day
from bookings.pages.forms import CancelForm, LookupForm, ManageCredentialsForm, RescheduleForm
from bookings.pages.presenters import booking_context, contact_for_links, policy_words
from bookings.services.lookup import NUMBER_TOO_MANY, booking_lookup, booking_open_signed
from bookings.services.self_service import (
    ManagedBooking,
    booking_self_cancel,
    booking_self_reschedule,
    change_policy,
    change_refusal,
    managed_booking,
    refund_due_minor,
    reschedule_slots,
)
from organizations.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited

NOT_FOUND_MESSAGE = gettext_lazy(
    "We could not find a booking with that confirmation number and email or phone. Check both and try again."
)
NUMBER_LOCKED_MESSAGE = gettext_lazy(
    "Too many failed attempts for this booking. Please open it with the link in its confirmation email, "
    "or try again later."
)
LINK_INVALID_MESSAGE = gettext_lazy("This link is no longer valid. Enter your confirmation number and email or phone.")


def _site(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _zone(managed: ManagedBooking) -> str:
    return managed.booking.timezone or managed.booking.location.tz.key


def _credentials(managed: ManagedBooking) -> dict:
    contact = contact_for_links(managed)
    return {
        "confirmation": managed.booking.confirmation_number,
        "contact": contact,
        "token": manage_token(managed.booking, contact),
    }


def _open(params) -> ManagedBooking | None:
    """The booking a signed manage link (or a manage form's hidden fields) names, or None."""
    form = ManageCredentialsForm(params)
    if not form.is_valid():
        return None
    try:
        found = booking_open_signed(
            confirmation_number=form.cleaned_data["confirmation"],
            contact=form.cleaned_data["contact"],
            token=form.cleaned_data["token"],
        )
    except NotFound:
        return None
    return managed_booking(found)


def _manage_context(request, managed: ManagedBooking) -> dict:
    policy = change_policy(managed)
    refusal = change_refusal(managed)
    credentials = _credentials(managed)
    query = urlencode(credentials)
    return {
        **booking_context(managed, site_url=_site(request)),
        "organization": managed.booking.organization,
        "policy": policy_words(policy),
        "refusal": refusal,
        "refund": money(refund_due_minor(managed), policy.currency) if refund_due_minor(managed) else "",
        "credentials": credentials,
        "cancel_url": f"{reverse('pages:manage-cancel')}?{query}",
        "reschedule_url": f"{reverse('pages:manage-reschedule')}?{query}",
    }


class ManageView(Page):
    template = "pages/manage_lookup.html"

    def get(self, request):
        params = request.GET
        if params.get("token"):
            managed = _open(params)
            if managed is None:
                form = LookupForm(
                    initial={"confirmation": params.get("confirmation", ""), "contact": params.get("contact", "")}
                )
                return self._form(request, form, notice=LINK_INVALID_MESSAGE)
            return render_in_zone(
                request, "pages/manage_booking.html", _manage_context(request, managed), zone=_zone(managed)
            )
        if params.get("confirmation") or params.get("contact"):
            # The emails' link of old (and the lookup contract's example): the same as the form.
            return self._lookup(request, LookupForm(params))
        return self._form(request, LookupForm())

    def post(self, request):
        return self._lookup(request, LookupForm(request.POST))

    def _lookup(self, request, form: LookupForm):
        if not form.is_valid():
            return self._form(request, form, status=400)
        try:
            found = booking_lookup(
                confirmation_number=form.cleaned_data["confirmation"],
                contact=form.cleaned_data["contact"],
                client_ip=client_ip(request),
            )
        except RateLimited as exc:
            # Locked by guesses from elsewhere, the owner's emailed link still opens it.
            error = NUMBER_LOCKED_MESSAGE if exc.detail == NUMBER_TOO_MANY else retry_words(exc)
            return self._form(request, form, error=error, status=429)
        except (NotFound, Forbidden, InvalidInput):
            return self._form(request, form, error=NOT_FOUND_MESSAGE, status=404)
        return HttpResponseRedirect(manage_path(found.booking, form.cleaned_data["contact"]))

    def _form(
        self, request, form: LookupForm, *, error: str | Promise = "", notice: str | Promise = "", status: int = 200
    ):
        context = {"form": form, "error": error, "notice": notice}
        return render_in_zone(request, self.template, context, zone="UTC", status=status)


def _back_to_form(request):
    messages.info(request, LINK_INVALID_MESSAGE)
    return HttpResponseRedirect(reverse("pages:manage"))


def _done(request, managed: ManagedBooking, message: str):
    messages.success(request, message)
    return HttpResponseRedirect(manage_path(managed.booking, contact_for_links(managed)))


class CancelView(Page):
    """A confirmation step (with what happens to the deposit), then the cancellation."""

    template = "pages/manage_cancel.html"

    def get(self, request):
        managed = _open(request.GET)
        if managed is None:
            return _back_to_form(request)
        return self.render(request, managed, CancelForm(initial=_credentials(managed)))

    def render(self, request, managed: ManagedBooking, form: CancelForm, *, error: str = "", status: int = 200):
        context = {**_manage_context(request, managed), "form": form, "error": error}
        return render_in_zone(request, self.template, context, zone=_zone(managed), status=status)

    def post(self, request):
        form = CancelForm(request.POST)
        managed = _open(request.POST)
        if managed is None:
            return _back_to_form(request)
        if not form.is_valid():
            return self.render(request, managed, form, status=400)
        try:
            done = booking_self_cancel(managed=managed, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            return self.render(request, managed, form, error=exc.detail, status=exc.status_code)
        message = _("Your place is cancelled.") if managed.is_place else _("Your booking is cancelled.")
        if done.refund is not None:
            currency = managed.booking.organization.currency
            message += " " + _("Your deposit of %(amount)s is being refunded to your card.") % {
                "amount": money(done.refund.amount_minor, currency)
            }
        return _done(request, ManagedBooking(done.managed.booking, managed.contact, done.managed.participant), message)


class RescheduleView(Page):
    """The free slots of the same service (the booking's own not counted against it), then the move."""

    template = "pages/manage_reschedule.html"

    def get(self, request):
        managed = _open(request.GET)
        if managed is None:
            return _back_to_form(request)
        return self.render(request, managed, day=parse_day(request.GET.get("date")))

    def render(self, request, managed: ManagedBooking, *, day=None, error: str = "", status: int = 200):
        zone = _zone(managed)
        organization = managed.booking.organization
        context = _manage_context(request, managed)
        picker = None
        if not context["refusal"]:
            last_day = today_in(zone) + timedelta(days=organization.max_advance_days)
            # Unless another day is asked for, the booking's own day: a move is usually a small one.
            own_day = managed.booking.starts_at.astimezone(zoneinfo.ZoneInfo(zone)).date()
            picker = day_picker(
                find=lambda start, end: reschedule_slots(managed=managed, start=start, end=end),
                zone=zone,
                asked=day or own_day,
                last_day=last_day,
            )
        base = reverse("pages:manage-reschedule")
        credentials = context["credentials"]

        def url_for(value) -> str:
            return f"{base}?{urlencode({**credentials, 'date': value.isoformat()})}" if value else ""

        context.update(
            {
                "picker": picker,
                "error": error,
                "days": [{"item": d, "url": url_for(d.day)} for d in picker.days] if picker else [],
                "next_url": url_for(picker.next_available) if picker else "",
                "earlier_url": url_for(picker.earlier) if picker else "",
                "later_url": url_for(picker.later) if picker else "",
            }
        )
        return render_in_zone(request, self.template, context, zone=zone, status=status)

    def post(self, request):
        form = RescheduleForm(request.POST)
        managed = _open(request.POST)
        if managed is None:
            return _back_to_form(request)
        if not form.is_valid():
            return self.render(request, managed, error=_("Pick one of the times shown."), status=400)
        starts_at = form.cleaned_data["start"]
        try:
            moved = booking_self_reschedule(managed=managed, starts_at=starts_at)
        except DomainError as exc:
            day = starts_at.astimezone(zoneinfo.ZoneInfo(_zone(managed))).date()
            message = (
                _("Sorry, that time was just taken. Here are the times still free.")
                if isinstance(exc, Conflict)
                else exc.detail
            )
            return self.render(request, managed, day=day, error=message, status=exc.status_code)
        return _done(
            request,
            ManagedBooking(moved.booking, managed.contact, moved.participant),
            _("Your booking is moved. We have sent you the updated details."),
        )
