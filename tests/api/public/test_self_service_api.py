"""POST .../public/bookings/confirmation/{number}/cancel and .../reschedule: the lookup's rules, as JSON."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking
from bookings.services.bookings import Contact
from tests.factories import make_booking, make_core_booking, make_customer
from tests.salon import paid_color

pytestmark = pytest.mark.django_db


def url(number: str, action: str) -> str:
    return f"/api/calendar/v1/public/bookings/confirmation/{number}/{action}"


@pytest.fixture
def booking(salon):
    jane = make_customer(salon.org, email="jane@example.com", phone="+15551234567")
    return make_core_booking(
        salon.haircut,
        starts_at=salon.at(10),
        customer=jane,
        staff=salon.alex,
        timezone="America/New_York",
        contact=Contact(name="Jane Doe", email="jane@example.com", phone="+1 555 123 4567"),
    )


def test_cancel_answers_the_cancelled_booking(api_client, booking):
    response = api_client.post(
        url(booking.confirmation_number, "cancel"), {"contact": "jane@example.com", "reason": "Ill"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["refund"] is None
    assert body["booking"]["status"] == "cancelled"
    assert body["booking"]["confirmation_number"] == booking.confirmation_number
    assert body["booking"]["contact"]["email"] == "jane@example.com"
    booking.refresh_from_db()
    assert (booking.status, booking.cancellation_reason) == ("cancelled", "Ill")


def test_cancel_takes_the_contact_from_the_query_string_as_the_lookup_does(api_client, booking):
    response = api_client.post(f"{url(booking.confirmation_number.lower(), 'cancel')}?contact=+1 555 123 4567")
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    ("number", "body", "status", "detail"),
    [
        (None, {}, 400, "Contact information is required to manage this booking"),
        (None, {"contact": "john@example.com"}, 403, "We could not verify that booking with the provided contact"),
        ("BOOK_NOSUCHBOOKING", {"contact": "jane@example.com"}, 404, "Booking not found"),
    ],
)
def test_the_lookup_errors_of_the_contract(api_client, booking, number, body, status, detail):
    for action in ("cancel", "reschedule"):
        response = api_client.post(url(number or booking.confirmation_number, action), body, format="json")
        assert response.status_code == status
        assert response.json()["detail"].startswith(detail)
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"


def test_failures_count_with_the_lookups_and_end_in_429(api_client, booking, settings):
    settings.LOOKUP_FAILURE_LIMIT = 3
    for _ in range(2):
        assert (
            api_client.get(
                f"/api/calendar/v1/public/bookings/confirmation/{booking.confirmation_number}", {"contact": "x@y.z"}
            ).status_code
            == 403
        )
    assert api_client.post(url(booking.confirmation_number, "cancel"), {"contact": "x@y.z"}).status_code == 403
    limited = api_client.post(url(booking.confirmation_number, "cancel"), {"contact": "jane@example.com"})
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"


def test_cancel_inside_the_cutoff_is_422(api_client, salon):
    soon = timezone.now().replace(microsecond=0) + timedelta(minutes=60)
    booking = make_booking(salon.haircut, salon.location, soon, staff=salon.alex, contact_email="jane@example.com")
    response = api_client.post(url(booking.confirmation_number, "cancel"), {"contact": "jane@example.com"})
    assert response.status_code == 422
    assert "no longer be cancelled or rescheduled online" in response.json()["detail"]


def test_cancel_refunds_a_paid_deposit_and_says_so(api_client, salon, stripe_api):
    booking = paid_color(salon, stripe_api)
    response = api_client.post(url(booking.confirmation_number, "cancel"), {"contact": "jane@example.com"})
    assert response.status_code == 200, response.json()
    assert response.json()["refund"] == {"amount_minor": 2000, "currency": "USD", "status": "succeeded"}
    assert len(stripe_api.refund_requests) == 1


def test_the_cancellation_email_says_the_deposit_was_refunded(
    api_client, salon, stripe_api, mailoutbox, django_capture_on_commit_callbacks
):
    booking = paid_color(salon, stripe_api)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(url(booking.confirmation_number, "cancel"), {"contact": "jane@example.com"})
    assert response.status_code == 200, response.json()
    [message] = mailoutbox
    refunded = "Your deposit of $20.00 has been refunded"
    assert refunded in message.body
    assert refunded in message.alternatives[0][0]


def test_a_cancellation_without_a_deposit_mentions_no_refund(
    api_client, booking, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(url(booking.confirmation_number, "cancel"), {"contact": "jane@example.com"}, format="json")
    [message] = mailoutbox
    assert "has been cancelled" in message.body
    assert "refunded" not in message.body


def test_reschedule_moves_the_booking(api_client, booking, salon):
    new_start = salon.at(10, 30)
    response = api_client.post(
        url(booking.confirmation_number, "reschedule"),
        {"contact": "jane@example.com", "starts_at": new_start.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["booking"]["start_at"] == new_start.strftime("%Y-%m-%dT%H:%M:%SZ")
    booking.refresh_from_db()
    assert (booking.starts_at, booking.sequence) == (new_start, 1)


@pytest.mark.parametrize(
    ("starts_at", "status"),
    [("2026-01-01T10:00:00", 400), ("not a time", 400), (None, 400), ("taken", 409), ("night", 422)],
)
def test_reschedule_errors(api_client, booking, salon, starts_at, status):
    if starts_at == "taken":
        make_core_booking(salon.haircut, starts_at=salon.at(14), staff=salon.alex)
        starts_at = salon.at(14).isoformat()
    elif starts_at == "night":
        starts_at = salon.at(3).isoformat()
    body = {"contact": "jane@example.com"} | ({"starts_at": starts_at} if starts_at else {})
    response = api_client.post(url(booking.confirmation_number, "reschedule"), body, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["detail"]
    booking.refresh_from_db()
    assert (booking.starts_at, booking.sequence) == (salon.at(10), 0)


def test_a_class_participant_moves_their_own_place_and_gets_the_new_session(api_client, salon):
    jane, john = make_customer(salon.org, email="jane@example.com"), make_customer(salon.org, email="john@example.com")
    session = make_core_booking(salon.yoga, starts_at=salon.at(15), customer=jane)
    make_core_booking(salon.yoga, starts_at=salon.at(15), customer=john)
    response = api_client.post(
        url(session.confirmation_number, "reschedule"),
        {"contact": "john@example.com", "starts_at": salon.at(9).isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.json()
    moved = response.json()["booking"]
    assert moved["confirmation_number"] != session.confirmation_number
    assert moved["contact"]["email"] == "john@example.com"
    assert session.participants.get(customer=jane).status == "active"
