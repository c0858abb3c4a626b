"""GET /api/calendar/v1/public/bookings/confirmation/{number}?contact=, as the reference documents it."""

import time
from datetime import UTC
from types import SimpleNamespace

import pytest

from bookings.services.actors import SYSTEM
from bookings.services.bookings import Contact
from bookings.services.status import booking_cancel
from organizations.models import Customer, Service
from tests.factories import future_day, local_dt, make_core_booking

NY = "America/New_York"


def url(number: str) -> str:
    return f"/api/calendar/v1/public/bookings/confirmation/{number}"


@pytest.fixture
def booking(demo):
    """Jane's haircut, booked with the reference's contact details."""
    jane = Customer.objects.get(email="jane@example.com")
    start = local_dt(NY, future_day(weekday=2), 9).astimezone(UTC)
    return make_core_booking(
        Service.objects.get(slug="haircut"),
        starts_at=start,
        customer=jane,
        timezone=NY,
        contact=Contact(name="Jane Doe", email="jane@example.com", phone="+1234567890"),
    )


@pytest.mark.django_db
def test_lookup_by_email_returns_the_documented_shape(api_client, booking):
    response = api_client.get(url(booking.confirmation_number), {"contact": "jane@example.com"})
    assert response.status_code == 200, response.json()
    start = booking.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = booking.ends_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert response.json() == {
        "booking": {
            "id": booking.public_id,
            "confirmation_number": booking.confirmation_number,
            "status": "confirmed",
            "organization_slug": "acme-salon",
            "organization_name": "Acme Salon",
            "start_at": start,
            "end_at": end,
            "service_id": str(booking.service.uuid),
            "service_slug": "haircut",
            "service_name": "Haircut",
            "contact": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+1234567890"},
            "location": {"type": "onsite", "value": "123 Main St, Suite 100"},
            "timezone": NY,
        }
    }


@pytest.mark.django_db
def test_reference_curl_examples(api_client, booking):
    """`?contact=jane@...` and `?contact=+1234567890` exactly as the curl lines send them.

    The phone example's unencoded `+` reaches the server as a space: it still matches.
    """
    by_email = api_client.get(f"{url(booking.confirmation_number)}?contact=jane@example.com")
    by_phone = api_client.get(f"{url(booking.confirmation_number)}?contact=+1234567890")
    assert by_email.status_code == by_phone.status_code == 200
    assert by_phone.json()["booking"]["id"] == booking.public_id


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["upper", "lower", "mixed"])
def test_confirmation_number_is_case_insensitive(api_client, booking, number):
    value = {
        "upper": booking.confirmation_number,
        "lower": booking.confirmation_number.lower(),
        "mixed": booking.confirmation_number[:6].lower() + booking.confirmation_number[6:],
    }[number]
    response = api_client.get(url(value), {"contact": "jane@example.com"})
    assert response.status_code == 200
    assert response.json()["booking"]["confirmation_number"] == booking.confirmation_number


@pytest.mark.django_db
@pytest.mark.parametrize("contact", ["jane@example.com", "  JANE@Example.COM  ", "Jane@example.com\t"])
def test_email_matches_trimmed_and_case_insensitive(api_client, booking, contact):
    assert api_client.get(url(booking.confirmation_number), {"contact": contact}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "contact", ["+1234567890", "1234567890", "+1 (234) 567-890", "+1 234.567.890", " 1-234-567-890 "]
)
def test_phone_matches_on_digits_whatever_the_spelling(api_client, booking, contact):
    assert api_client.get(url(booking.confirmation_number), {"contact": contact}).status_code == 200


@pytest.mark.django_db
def test_cancelled_booking_is_still_found_with_its_status(api_client, booking):
    booking_cancel(booking=booking, actor=SYSTEM, reason="test")
    response = api_client.get(url(booking.confirmation_number), {"contact": "jane@example.com"})
    assert response.json()["booking"]["status"] == "cancelled"


@pytest.mark.django_db
def test_group_participant_finds_the_session_with_their_own_contact(api_client, demo):
    yoga = Service.objects.get(slug="yoga-class")
    start = local_dt(NY, future_day(weekday=2), 10).astimezone(UTC)
    jane, john = Customer.objects.get(email="jane@example.com"), Customer.objects.get(email="john@example.com")
    session = make_core_booking(yoga, starts_at=start, customer=jane)
    make_core_booking(yoga, starts_at=start, customer=john)
    response = api_client.get(url(session.confirmation_number), {"contact": "+1 555 123 4567"})
    assert response.status_code == 200
    # John sees his own contact details, not those of Jane, who opened the session.
    assert response.json()["booking"]["contact"] == {"name": john.full_name, "email": john.email, "phone": john.phone}
    jane_view = api_client.get(url(session.confirmation_number), {"contact": "jane@example.com"})
    assert jane_view.json()["booking"]["contact"]["email"] == "jane@example.com"


@pytest.mark.django_db
def test_confirmation_number_with_surrounding_space_is_found(api_client, booking):
    response = api_client.get(url(f"%20{booking.confirmation_number.lower()}%20"), {"contact": "jane@example.com"})
    assert response.status_code == 200


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{}, {"contact": ""}, {"contact": "   "}])
def test_missing_contact_is_400(api_client, booking, query):
    response = api_client.get(url(booking.confirmation_number), query)
    assert response.status_code == 400
    assert response.json() == {"detail": "Contact information is required to manage this booking"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "contact",
    # The last two: the phone's digits with one missing, and with one more; neither is the phone.
    ["john@example.com", "jane@example.org", "+15551234567", "12", "jane", "234567890", "+11234567890"],
)
def test_contact_mismatch_is_403(api_client, booking, contact):
    response = api_client.get(url(booking.confirmation_number), {"contact": contact})
    assert response.status_code == 403
    assert response.json() == {"detail": "We could not verify that booking with the provided contact information."}


@pytest.mark.django_db
def test_unknown_confirmation_number_is_404(api_client, booking):
    response = api_client.get(url("BOOK_NOSUCHBOOKING"), {"contact": "jane@example.com"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Booking not found"}


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["BOOK_%00X", "%00", "BOOK_" + "X" * 3000])
def test_a_number_that_cannot_be_one_is_404(api_client, booking, number):
    """A NUL (which PostgreSQL refuses to compare) or an absurd length: not found, never a 500."""
    response = api_client.get(url(number), {"contact": "jane@example.com"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Booking not found"}


@pytest.mark.django_db
def test_repeated_failures_from_one_ip_are_429(api_client, booking, settings):
    settings.LOOKUP_FAILURE_LIMIT = 3
    for n in range(3):
        assert api_client.get(url(f"BOOK_GUESS{n}"), {"contact": "jane@example.com"}).status_code == 404
    response = api_client.get(url(booking.confirmation_number), {"contact": "jane@example.com"})
    assert response.status_code == 429  # even the right answer, until the window ends
    assert response.json()["detail"] == "Too many failed lookups; try again later"
    assert int(response["Retry-After"]) == settings.LOOKUP_FAILURE_WINDOW_SECONDS
    # Another client is not blocked by this one's failures.
    other = api_client.get(url(booking.confirmation_number), {"contact": "jane@example.com"}, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 200


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_reset_the_client_limit(api_client, booking, settings):
    settings.LOOKUP_FAILURE_LIMIT = 3
    for n in range(3):
        response = api_client.get(
            url(f"BOOK_GUESS{n}"), {"contact": "x@example.com"}, HTTP_X_FORWARDED_FOR=f"10.9.0.{n}"
        )
        assert response.status_code == 404
    response = api_client.get(
        url(booking.confirmation_number), {"contact": "jane@example.com"}, HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_behind_a_proxy_each_forwarded_client_has_its_own_limit(api_client, booking, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.LOOKUP_FAILURE_LIMIT = 3
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(3):
        response = api_client.get(
            url(f"BOOK_GUESS{n}"), {"contact": "x@example.com"}, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy
        )
        assert response.status_code == 404
    blocked = api_client.get(
        url(booking.confirmation_number), {"contact": "jane@example.com"}, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy
    )
    assert blocked.status_code == 429
    # Another customer behind the same proxy is not blocked; the proxy appends the real address.
    other = api_client.get(
        url(booking.confirmation_number),
        {"contact": "jane@example.com"},
        HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9",
        **proxy,
    )
    assert other.status_code == 200


@pytest.mark.django_db
def test_repeated_failures_on_one_confirmation_number_from_many_ips_are_429(api_client, booking, settings):
    # Its own limit, slower and higher than one client's (100 a day; 3 here).
    settings.LOOKUP_NUMBER_FAILURE_LIMIT = 3
    number = booking.confirmation_number
    for n in range(3):
        response = api_client.get(url(number), {"contact": f"guess{n}@example.com"}, REMOTE_ADDR=f"10.0.1.{n}")
        assert response.status_code == 403
    response = api_client.get(url(number), {"contact": "jane@example.com"}, REMOTE_ADDR="10.0.2.1")
    assert response.status_code == 429
    assert "Retry-After" in response


@pytest.mark.django_db
def test_spellings_of_one_number_share_its_failure_counter(api_client, booking, settings):
    """Spaces or lower case do not make a number new: guessing it from many addresses stays limited."""
    settings.LOOKUP_NUMBER_FAILURE_LIMIT = 3
    number = booking.confirmation_number
    spellings = [number, f"%20{number}", number.lower() + "%20%20"]
    for n, spelling in enumerate(spellings):
        response = api_client.get(url(spelling), {"contact": f"guess{n}@example.com"}, REMOTE_ADDR=f"10.0.3.{n}")
        assert response.status_code == 403
    response = api_client.get(url(f"%20%20%20{number}"), {"contact": "jane@example.com"}, REMOTE_ADDR="10.0.4.1")
    assert response.status_code == 429


@pytest.mark.django_db
def test_retry_after_is_the_time_left_in_the_window(api_client, booking, settings, monkeypatch):
    from bookings.services import lookup

    settings.LOOKUP_FAILURE_LIMIT = 2
    settings.LOOKUP_FAILURE_WINDOW_SECONDS = 900
    for n in range(2):
        assert api_client.get(url(f"BOOK_GUESS{n}"), {"contact": "jane@example.com"}).status_code == 404
    first_failure = time.time()
    monkeypatch.setattr(lookup, "time", SimpleNamespace(time=lambda: first_failure + 600))
    response = api_client.get(url(booking.confirmation_number), {"contact": "jane@example.com"})
    assert response.status_code == 429
    assert 299 <= int(response["Retry-After"]) <= 301


@pytest.mark.django_db
def test_successful_lookups_do_not_count_as_failures(api_client, booking, settings):
    settings.LOOKUP_FAILURE_LIMIT = 2
    for _ in range(5):
        assert api_client.get(url(booking.confirmation_number), {"contact": "jane@example.com"}).status_code == 200
