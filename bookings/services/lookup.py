"""Customers find their own booking with its confirmation number and their email or phone.

There is no API key, so guessing is what this must stop: failures are counted in the cache per
client IP and per confirmation number; past `LOOKUP_FAILURE_LIMIT` within the window both
answer 429 until the window ends, whatever the contact given.
"""

import re

from django.conf import settings
from django.core.cache import cache

from bookings.models import Booking, Participant
from organizations.errors import Forbidden, InvalidInput, NotFound, RateLimited

CONTACT_REQUIRED = "Contact information is required to manage this booking"
CONTACT_MISMATCH = "We could not verify that booking with the provided contact information."
NOT_FOUND = "Booking not found"
TOO_MANY = "Too many failed lookups; try again later"
MIN_PHONE_DIGITS = 6


def digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def contact_matches(contact: str, *, email: str, phone: str) -> bool:
    """Email: trimmed, case-insensitive. Phone: the digits alone, so `+1 (234) 567-890` is `+1234567890`."""
    given = contact.strip()
    if "@" in given:
        return bool(email) and given.lower() == email.strip().lower()
    given_digits = digits(given)
    return len(given_digits) >= MIN_PHONE_DIGITS and given_digits == digits(phone)


def _failure_keys(confirmation_number: str, client_ip: str) -> list[str]:
    return [f"lookup-fail:ip:{client_ip}", f"lookup-fail:number:{confirmation_number.upper()}"]


def _blocked(keys: list[str]) -> bool:
    limit = settings.LOOKUP_FAILURE_LIMIT
    return any((cache.get(key) or 0) >= limit for key in keys)


def _failure_record(keys: list[str]) -> None:
    window = settings.LOOKUP_FAILURE_WINDOW_SECONDS
    for key in keys:
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window)


def _booking_contacts(booking: Booking) -> list[tuple[str, str]]:
    """The booking's contact, and for a group session every active participant's."""
    contacts = [(booking.contact_email, booking.contact_phone)]
    if booking.is_group:
        contacts += [
            (p.customer.email, p.customer.phone)
            for p in booking.participants.filter(status=Participant.Status.ACTIVE).select_related("customer")
        ]
    return contacts


def booking_lookup(*, confirmation_number: str, contact: str | None, client_ip: str) -> Booking:
    """The booking if `contact` is its email or phone; 400 / 403 / 404 / 429 otherwise."""
    keys = _failure_keys(confirmation_number, client_ip)
    if _blocked(keys):
        raise RateLimited(TOO_MANY, retry_after=settings.LOOKUP_FAILURE_WINDOW_SECONDS)
    if contact is None or not contact.strip():
        raise InvalidInput(CONTACT_REQUIRED)
    number = confirmation_number.strip()
    booking = (
        Booking.objects.select_related("organization", "service", "location")
        .filter(confirmation_number=number.upper())  # stored upper-cased: the unique index answers
        .first()
        if number
        else None
    )
    if booking is None:
        _failure_record(keys)
        raise NotFound(NOT_FOUND)
    if not any(contact_matches(contact, email=email, phone=phone) for email, phone in _booking_contacts(booking)):
        _failure_record(keys)
        raise Forbidden(CONTACT_MISMATCH)
    return booking
