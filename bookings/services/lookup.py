"""Customers find their own booking with its confirmation number and their email or phone.

There is no API key, so guessing is what this must stop: failures are counted in the cache per
client IP and per confirmation number; past `LOOKUP_FAILURE_LIMIT` within the window both
answer 429 until the window ends, whatever the contact given.

Links in emails carry a signed token instead (bookings.ics.manage_token): `booking_open_signed`
opens the booking it names for the contact it names, without touching the counters, so a stranger's
guessing never locks the owner out of their own link.
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


def _failure_keys(number: str, client_ip: str) -> list[str]:
    # The number as sent may be anything (a NUL, kilobytes): its digest makes a cache key of it.
    digest = hashlib.sha256(number.encode(errors="backslashreplace")).hexdigest()
    return [f"lookup-fail:ip:{client_ip}", f"lookup-fail:number:{digest}"]


def _retry_after(keys: list[str]) -> int | None:
    """Seconds until every counter at its limit has expired, or None when none is."""
    found = cache.get_many([*keys, *(f"{key}:until" for key in keys)])
    window = settings.LOOKUP_FAILURE_WINDOW_SECONDS
    now = time.time()
    waits = [
        found.get(f"{key}:until", now + window) - now
        for key in keys
        if (found.get(key) or 0) >= settings.LOOKUP_FAILURE_LIMIT
    ]
    return max(1, math.ceil(max(waits))) if waits else None


def _failure_record(keys: list[str]) -> None:
    """Count a failure; a counter's window starts at its first failure (kept as `<key>:until`)."""
    window = settings.LOOKUP_FAILURE_WINDOW_SECONDS
    for key in keys:
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
    keys = _failure_keys(number, client_ip)
    retry_after = _retry_after(keys)
    if retry_after is not None:
        raise RateLimited(TOO_MANY, retry_after=retry_after)
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
        _failure_record(keys)
        raise NotFound(NOT_FOUND)
    matched = next(
        (c for c in _booking_contacts(booking) if contact_matches(contact, email=c["email"], phone=c["phone"])), None
    )
    if matched is None:
        _failure_record(keys)
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
