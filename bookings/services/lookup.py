"""Customers find their own booking with its confirmation number and their email or phone.

There is no API key, so guessing is what this must stop, without letting a stranger lock the owner
out. Failures are counted in the cache, each counter in its own window from its first failure:

- per client address (any numbers, so per number and client too): `LOOKUP_FAILURE_LIMIT` within
  `LOOKUP_FAILURE_WINDOW_SECONDS` (10 in 15 min); past it that client answers 429 until the window
  ends. Only that client: the owner, elsewhere, is not touched by it.
- per confirmation number, from every address together: `LOOKUP_NUMBER_FAILURE_LIMIT` within
  `LOOKUP_NUMBER_FAILURE_WINDOW_SECONDS` (100 a day), slower and higher, so that guesses spread over
  many addresses stay hopeless while a few wrong ones never block the number's owner.

Links in emails carry a signed token instead (bookings.ics.manage_token): `booking_open_signed`
opens the booking it names for the contact it names, without reading or touching the counters, so
even a number locked by guessing opens from the owner's own link.
"""

import hashlib
import math
import re
import time
from dataclasses import dataclass
from typing import TypedDict

from django.conf import settings
from django.core.cache import cache

from bookings.ics import manage_token_valid
from bookings.models import Booking, Participant
from organizations.errors import Forbidden, InvalidInput, NotFound, RateLimited

CONTACT_REQUIRED = "Contact information is required to manage this booking"
CONTACT_MISMATCH = "We could not verify that booking with the provided contact information."
NOT_FOUND = "Booking not found"
TOO_MANY = "Too many failed lookups; try again later"
NUMBER_TOO_MANY = (
    "Too many failed lookups of this confirmation number; open the booking with the link in its email, "
    "or try again later"
)
CONFIRMATION_NUMBER_MAX = Booking._meta.get_field("confirmation_number").max_length or 0


class BookingContact(TypedDict):
    """Whom a booking reaches: its own contact, or a group session participant's."""

    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class LookedUp:
    """A booking found, and the contact that proved it: for a group session, the participant's own."""

    booking: Booking
    contact: BookingContact


def digits(value: str) -> str:
    """The ASCII digits of a phone number, the only part of its spelling that matters."""
    return re.sub(r"[^0-9]", "", value or "")


def contact_matches(contact: str, *, email: str, phone: str) -> bool:
    """Email: trimmed, case-insensitive. Phone: the digits alone, so `+1 (234) 567-890` is `+1234567890`."""
    given = contact.strip()
    if "@" in given:
        return bool(email) and given.lower() == email.strip().lower()
    given_digits = digits(given)
    return bool(given_digits) and given_digits == digits(phone)


def _normalized(confirmation_number: str) -> str:
    """The form it is stored in (upper case, no surrounding space), so every spelling of one number
    is one number, for the lookup and for its failure counter alike."""
    return confirmation_number.strip().upper()


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int
    window: int
    detail: str


def _counters(number: str, client_ip: str) -> list[_Counter]:
    # The number as sent may be anything (a NUL, kilobytes): its digest makes a cache key of it.
    digest = hashlib.sha256(number.encode(errors="backslashreplace")).hexdigest()
    return [
        _Counter(
            f"lookup-fail:ip:{client_ip}",
            settings.LOOKUP_FAILURE_LIMIT,
            settings.LOOKUP_FAILURE_WINDOW_SECONDS,
            TOO_MANY,
        ),
        _Counter(
            f"lookup-fail:number:{digest}",
            settings.LOOKUP_NUMBER_FAILURE_LIMIT,
            settings.LOOKUP_NUMBER_FAILURE_WINDOW_SECONDS,
            NUMBER_TOO_MANY,
        ),
    ]


def _refusal(counters: list[_Counter]) -> RateLimited | None:
    """429 while any counter is at its limit, with the seconds until every such one has expired."""
    found = cache.get_many([key for c in counters for key in (c.key, f"{c.key}:until")])
    now = time.time()
    full = [c for c in counters if (found.get(c.key) or 0) >= c.limit]
    if not full:
        return None
    wait = max(found.get(f"{c.key}:until", now + c.window) - now for c in full)
    return RateLimited(full[0].detail, retry_after=max(1, math.ceil(wait)))


def _failure_record(counters: list[_Counter]) -> None:
    """Count a failure; a counter's window starts at its first failure (kept as `<key>:until`)."""
    for counter in counters:
        key, window = counter.key, counter.window
        started = cache.add(key, 1, timeout=window)
        if not started:
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                started = cache.add(key, 1, timeout=window)
        if started:
            cache.set(f"{key}:until", time.time() + window, timeout=window)


def _booking_contacts(booking: Booking) -> list[BookingContact]:
    """The booking's contact, and for a group session every active participant's."""
    contacts: list[BookingContact] = [
        {"name": booking.contact_name, "email": booking.contact_email, "phone": booking.contact_phone}
    ]
    if booking.is_group:
        contacts += [
            {"name": p.customer.full_name, "email": p.customer.email, "phone": p.customer.phone}
            for p in booking.participants.filter(status=Participant.Status.ACTIVE).select_related("customer")
        ]
    return contacts


def booking_lookup(*, confirmation_number: str, contact: str | None, client_ip: str) -> LookedUp:
    """The booking if `contact` is its email or phone; 400 / 403 / 404 / 429 otherwise."""
    number = _normalized(confirmation_number)
    counters = _counters(number, client_ip)
    refusal = _refusal(counters)
    if refusal is not None:
        raise refusal
    if contact is None or not contact.strip():
        raise InvalidInput(CONTACT_REQUIRED)
    booking = None
    if number and len(number) <= CONFIRMATION_NUMBER_MAX and number.isprintable():
        booking = (
            Booking.objects.select_related("organization", "service", "location")
            .filter(confirmation_number=number)  # stored upper-cased: the unique index answers
            .first()
        )
    if booking is None:
        _failure_record(counters)
        raise NotFound(NOT_FOUND)
    matched = next(
        (c for c in _booking_contacts(booking) if contact_matches(contact, email=c["email"], phone=c["phone"])), None
    )
    if matched is None:
        _failure_record(counters)
        raise Forbidden(CONTACT_MISMATCH)
    return LookedUp(booking=booking, contact=matched)


def booking_open_signed(*, confirmation_number: str, contact: str, token: str) -> LookedUp:
    """The booking a manage link names, if its token is valid for it and `contact` (404 otherwise).

    No failure counters: the token is unguessable, and a wrong or expired one tells nothing (the page
    then asks for the details and uses `booking_lookup`). The contact may be a participant who has
    since left a class: their link still shows their cancelled place.
    """
    number = _normalized(confirmation_number)
    booking = None
    if contact.strip() and number and len(number) <= CONFIRMATION_NUMBER_MAX and number.isprintable():
        booking = (
            Booking.objects.select_related("organization", "service", "location")
            .filter(confirmation_number=number)
            .first()
        )
    if booking is None or not manage_token_valid(booking, contact, token):
        raise NotFound(NOT_FOUND)
    contacts: list[BookingContact] = [
        {"name": booking.contact_name, "email": booking.contact_email, "phone": booking.contact_phone}
    ]
    if booking.is_group:
        contacts += [
            {"name": p.customer.full_name, "email": p.customer.email, "phone": p.customer.phone}
            for p in booking.participants.select_related("customer").order_by("-id")
        ]
    matched = next((c for c in contacts if contact_matches(contact, email=c["email"], phone=c["phone"])), None)
    if matched is None:
        raise NotFound(NOT_FOUND)
    return LookedUp(booking=booking, contact=matched)
