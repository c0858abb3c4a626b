"""Every POST that creates a booking or a hold accepts `Idempotency-Key` with the same semantics: the
public create, holds, bookings from holds, customer and merchant bookings (one piece:
bookings/api/idempotency.py)."""

from datetime import UTC, timedelta

import pytest
from rest_framework.test import APIClient

from bookings.models import Booking, IdempotencyRecord
from holds.models import Hold
from tests.factories import future_day, local_dt

pytestmark = pytest.mark.django_db
NY = "America/New_York"


def at(hour: int):
    return local_dt(NY, future_day(weekday=2), hour).astimezone(UTC)


def z(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def public_create(demo, hour):
    return (
        "/api/calendar/v1/public/bookings",
        {"HTTP_X_KORDLESS_KEY": demo["keys"]["public"]},
        {
            "org_slug": "acme-salon",
            "service_slug": "haircut",
            "starts_at": z(at(hour)),
            "ends_at": z(at(hour) + timedelta(hours=1)),
            "timezone": NY,
            "contact": {"name": "Jane Doe", "email": "jane@example.com"},
        },
    )


def booking_from_hold(demo, hour):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {demo['keys']['session']}"}
    held = APIClient().post(
        "/api/v1/bookings/hold",
        {
            "service_id": demo["services"]["haircut"]["uuid"],
            "location_id": demo["location"]["uuid"],
            "starts_at": z(at(hour)),
        },
        format="json",
        **auth,
    )
    assert held.status_code == 201, held.json()
    client = {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com"}
    return "/api/v1/bookings", auth, {"hold_id": held.json()["hold_id"], "client": client}


def customer_booking(demo, hour):
    return (
        "/bookings/customer",
        {"HTTP_AUTHORIZATION": f"Bearer {demo['keys']['customer']}"},
        {
            "merchant_name": "acme-salon",
            "service_id": demo["services"]["haircut"]["id"],
            "location_id": demo["location"]["id"],
            "timeStamp": z(at(hour)),
        },
    )


def merchant_booking(demo, hour):
    return (
        "/bookings/merchant",
        {"HTTP_AUTHORIZATION": f"Bearer {demo['keys']['business']}"},
        {
            "service_id": demo["services"]["haircut"]["id"],
            "timestamp": z(at(hour)),
            "customers": [{"id": demo["customers"][1]["uuid"]}],
            "is_recurring": False,
        },
    )


def hold_create(demo, hour):
    return (
        "/api/v1/bookings/hold",
        {"HTTP_AUTHORIZATION": f"Bearer {demo['keys']['session']}"},
        {
            "service_id": demo["services"]["haircut"]["uuid"],
            "location_id": demo["location"]["uuid"],
            "starts_at": z(at(hour)),
        },
    )


def body_of(response):
    return response.json() if response.content else None


def created(endpoint) -> int:
    """How many of what `endpoint` creates exist."""
    return Hold.objects.count() if endpoint is hold_create else Booking.objects.count()


ENDPOINTS = [public_create, hold_create, booking_from_hold, customer_booking, merchant_booking]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.__name__)
def test_a_retry_replays_the_first_answer_and_books_once(demo, endpoint):
    path, auth, body = endpoint(demo, 10)
    client = APIClient()
    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1", **auth)
    again = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1", **auth)
    assert first.status_code == again.status_code == 201, first.content
    assert body_of(again) == body_of(first)  # as JSON: PostgreSQL's jsonb keeps no key order
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert created(endpoint) == 1
    # The other spelling of the path is the same request.
    slashed = client.post(path + "/", body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1", **auth)
    assert slashed["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.__name__)
def test_the_same_key_with_another_body_is_422(demo, endpoint):
    path, auth, body = endpoint(demo, 10)
    _, _, other = endpoint(demo, 11)
    client = APIClient()
    assert client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k", **auth).status_code == 201
    refused = client.post(path, other, format="json", HTTP_IDEMPOTENCY_KEY="k", **auth)
    assert refused.status_code == 422
    assert refused.json() == {"detail": "Idempotency-Key has already been used with a different request body"}
    assert created(endpoint) == 1


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.__name__)
def test_a_refusal_is_replayed_and_a_blank_key_is_400(demo, endpoint):
    if endpoint is booking_from_hold:
        path, auth, body = endpoint(demo, 10)
        body = {**body, "hold_id": "00000000-0000-0000-0000-000000000000"}  # an unknown hold: 404
    else:
        path, auth, body = endpoint(demo, 7)  # before opening: 422
    client = APIClient()
    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="taken", **auth)
    assert first.status_code in (404, 422)
    again = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="taken", **auth)
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (first.status_code, first.json(), "true")
    assert client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="  ", **auth).status_code == 400
    assert IdempotencyRecord.objects.filter(key="taken").count() == 1
