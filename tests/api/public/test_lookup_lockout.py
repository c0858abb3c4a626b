"""Guessing a confirmation lookup stays hopeless, yet a stranger's wrong guesses never lock the owner out:
each client address has its own small budget, the number a slower, higher one shared by every address,
and the link in the booking's emails opens it without the counters at all."""

import re
from datetime import UTC
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from bookings.models import Booking
from bookings.services.lookup import NUMBER_TOO_MANY, TOO_MANY
from tests.factories import future_day, local_dt
from tests.services.test_confirmation_email import create

pytestmark = pytest.mark.django_db
NY = "America/New_York"
OWNER = "198.51.100.7"


def url(number: str) -> str:
    return f"/api/calendar/v1/public/bookings/confirmation/{number}"


@pytest.fixture
def booked(demo, mailoutbox, django_capture_on_commit_callbacks):
    """Jane's haircut booked through the public API, and the manage link her confirmation email carries."""
    with django_capture_on_commit_callbacks(execute=True):
        response = create(APIClient(), demo, local_dt(NY, future_day(weekday=2), 11).astimezone(UTC))
    assert response.status_code == 201, response.json()
    booking = Booking.objects.get()
    (message,) = mailoutbox
    link = re.search(r"https?://\S*/manage-booking\?\S*token=\S+", message.body)
    assert link is not None, message.body
    split = urlsplit(link.group(0))
    return booking, f"{split.path}?{split.query}"


def guess(number: str, address: str, n: int = 0):
    return APIClient().get(url(number), {"contact": f"guess{n}@example.com"}, REMOTE_ADDR=address)


def lookup_counters() -> dict:
    """The failure counters as the (local memory) cache stores them."""
    return {key: value for key, value in cache._cache.items() if "lookup-fail" in key}  # type: ignore[attr-defined]


def owner_lookup(number: str, address: str = OWNER):
    return APIClient().get(url(number), {"contact": "jane@example.com"}, REMOTE_ADDR=address)


def test_ten_wrong_guesses_from_elsewhere_do_not_lock_the_owner_out(booked, settings):
    booking, _ = booked
    number = booking.confirmation_number
    for n in range(settings.LOOKUP_FAILURE_LIMIT):
        assert guess(number, "203.0.113.5", n).status_code == 403
    stranger = guess(number, "203.0.113.5")
    assert stranger.status_code == 429 and stranger.json()["detail"] == TOO_MANY  # the guesser is stopped

    answer = owner_lookup(number)

    assert answer.status_code == 200, answer.json()
    assert answer.json()["booking"]["confirmation_number"] == number


def test_guesses_spread_over_many_addresses_end_at_the_numbers_own_slower_limit(booked, settings):
    booking, _ = booked
    number = booking.confirmation_number
    per_address = settings.LOOKUP_FAILURE_LIMIT
    assert settings.LOOKUP_NUMBER_FAILURE_LIMIT > per_address
    assert settings.LOOKUP_NUMBER_FAILURE_WINDOW_SECONDS > settings.LOOKUP_FAILURE_WINDOW_SECONDS
    for n in range(settings.LOOKUP_NUMBER_FAILURE_LIMIT):
        assert guess(number, f"203.0.113.{n // per_address}", n).status_code == 403
        if n == per_address * 2:
            assert owner_lookup(number).status_code == 200  # well past one address's budget: still open

    locked = owner_lookup(number)

    assert locked.status_code == 429
    assert locked.json()["detail"] == NUMBER_TOO_MANY
    assert int(locked["Retry-After"]) > settings.LOOKUP_FAILURE_WINDOW_SECONDS


def test_the_email_link_opens_a_locked_number_without_touching_the_counters(booked, settings):
    booking, link = booked
    settings.LOOKUP_NUMBER_FAILURE_LIMIT = 3
    for n in range(3):
        assert guess(booking.confirmation_number, f"203.0.113.{n}", n).status_code == 403
    assert owner_lookup(booking.confirmation_number).status_code == 429
    counters = lookup_counters()
    assert counters

    for _ in range(settings.LOOKUP_FAILURE_LIMIT + 1):
        page = Client(REMOTE_ADDR=OWNER).get(link)
        assert page.status_code == 200
        assert "Your booking" in page.content.decode()
        assert booking.confirmation_number in page.content.decode()

    assert lookup_counters() == counters


def test_the_manage_page_of_a_locked_number_points_the_owner_to_their_email_link(booked, settings):
    booking, _ = booked
    settings.LOOKUP_NUMBER_FAILURE_LIMIT = 3
    for n in range(3):
        assert guess(booking.confirmation_number, f"203.0.113.{n}", n).status_code == 403

    page = Client(REMOTE_ADDR=OWNER).post(
        "/manage-booking", {"confirmation": booking.confirmation_number, "contact": "jane@example.com"}
    )

    assert page.status_code == 429
    assert "open it with the link in its confirmation email" in page.content.decode()
    assert "from your connection" not in page.content.decode()
