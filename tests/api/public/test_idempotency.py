"""Idempotency-Key on POST /public/bookings: replay, mismatch, scope, expiry, concurrency."""

import threading
from datetime import UTC, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.models import Booking, IdempotencyRecord
from bookings.services.idempotency import idempotency_purge, request_fingerprint
from organizations.models import ApiKey
from tests.factories import future_day, local_dt

URL = "/api/calendar/v1/public/bookings"
NY = "America/New_York"


def body(hour: int = 10, **overrides) -> dict:
    start = local_dt(NY, future_day(weekday=2), hour).astimezone(UTC)
    return {
        "org_slug": "acme-salon",
        "service_slug": "haircut",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "timezone": NY,
        "contact": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+1234567890"},
        **overrides,
    }


def post(client, data, secret, key="booking-user123-1701619200000"):
    return client.post(URL, data, format="json", HTTP_X_KORDLESS_KEY=secret, HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_same_key_same_body_replays_the_first_answer(api_client, demo):
    secret = demo["keys"]["public"]
    first = post(api_client, body(), secret)
    second = post(api_client, body(), secret)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_key_order_of_the_json_body_does_not_matter(api_client, demo):
    secret = demo["keys"]["public"]
    data = body()
    assert post(api_client, data, secret).status_code == 201
    reordered = dict(reversed(list(data.items())))
    assert post(api_client, reordered, secret)["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_errors_are_replayed_too(api_client, demo):
    secret = demo["keys"]["public"]
    early = body(hour=7)
    first = post(api_client, early, secret, key="k-422")
    again = post(api_client, early, secret, key="k-422")
    assert first.status_code == again.status_code == 422
    assert again.json() == {"detail": "Booking is outside service hours"}
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_same_key_different_body_is_422(api_client, demo):
    secret = demo["keys"]["public"]
    assert post(api_client, body(10), secret).status_code == 201
    response = post(api_client, body(11), secret)
    assert response.status_code == 422
    assert response.json() == {"detail": "Idempotency-Key has already been used with a different request body"}
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_scoped_to_the_api_key(api_client, demo):
    first = post(api_client, body(10), demo["keys"]["public"], key="shared")
    other = post(api_client, body(11), demo["keys"]["business"], key="shared")
    assert first.status_code == other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert Booking.objects.count() == 2


@pytest.mark.django_db
def test_request_still_running_gets_409_with_retry_after(api_client, demo):
    secret = demo["keys"]["public"]
    api_key = ApiKey.objects.get(kind="public", revoked_at__isnull=True)

    IdempotencyRecord.objects.create(
        api_key=api_key, key="busy", request_hash=request_fingerprint("POST", URL, body())
    )  # claimed, no answer yet
    response = post(api_client, body(), secret, key="busy")
    assert response.status_code == 409
    assert response.json()["detail"] == "A request with this Idempotency-Key is still being processed"
    assert response["Retry-After"] == "1"
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_claim_of_a_request_that_died_is_taken_over(api_client, demo):
    api_key = ApiKey.objects.get(kind="public", revoked_at__isnull=True)
    record = IdempotencyRecord.objects.create(api_key=api_key, key="dead", request_hash="x")
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert post(api_client, body(), demo["keys"]["public"], key="dead").status_code == 201


@pytest.mark.django_db
def test_no_booking_is_kept_when_its_answer_cannot_be_stored(api_client, demo, monkeypatch):
    """The answer is stored in the booking's own transaction: if storing it fails, nothing is booked
    (so a retry cannot meet a booking without its answer and make a second one)."""
    from bookings.api import idempotency

    def storing_fails(**kwargs):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(idempotency, "idempotency_complete", storing_fails)
    api_client.raise_request_exception = False
    assert post(api_client, body(), demo["keys"]["public"], key="fragile").status_code == 500
    assert not Booking.objects.exists()
    assert not IdempotencyRecord.objects.filter(key="fragile").exists()  # released: the retry runs anew

    monkeypatch.undo()
    retried = post(api_client, body(), demo["keys"]["public"], key="fragile")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_after_24_hours_the_key_is_new_again_and_purged(api_client, demo):
    secret = demo["keys"]["public"]
    assert post(api_client, body(10), secret, key="old").status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    fresh = post(api_client, body(11), secret, key="old")  # a different body is fine now
    assert fresh.status_code == 201
    assert "Idempotent-Replayed" not in fresh
    assert IdempotencyRecord.objects.count() == 1

    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_purge() == 1
    assert post(api_client, body(12), secret, key="young").status_code == 201
    out = StringIO()
    call_command("purge_idempotency", stdout=out)
    assert "Deleted 0" in out.getvalue()
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_rate_limited_answer_is_not_stored(api_client, demo, settings):
    settings.BOOKING_RATE_LIMIT = "1/m"
    secret = demo["keys"]["public"]
    assert post(api_client, body(10), secret, key="a").status_code == 201
    assert post(api_client, body(11), secret, key="b").status_code == 429
    assert not IdempotencyRecord.objects.filter(key="b").exists()  # a retry later is a real attempt


@pytest.mark.django_db
def test_replays_do_not_count_against_the_rate_limit(api_client, demo, settings):
    settings.BOOKING_RATE_LIMIT = "2/m"
    secret = demo["keys"]["public"]
    for _ in range(5):
        assert post(api_client, body(10), secret).status_code == 201
    assert post(api_client, body(11), secret, key="second").status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_make_one_booking(demo):
    secret = demo["keys"]["public"]
    data = body(10)
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    results = []

    def worker():
        try:
            client = APIClient()
            barrier.wait()
            response = post(client, data, secret, key="race")
            results.append((response.status_code, response.headers.get("Idempotent-Replayed"), response))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Booking.objects.count() == 1
    winners = [r for r in results if r[0] == 201 and r[1] is None]
    assert len(winners) == 1
    booking_id = winners[0][2].json()["booking"]["id"]
    for status, _replayed, response in results:
        if status == 201:
            assert response.json()["booking"]["id"] == booking_id
        else:
            assert status == 409 and response["Retry-After"], response.json()


@pytest.mark.django_db
def test_blank_idempotency_key_is_400_not_ignored(api_client, demo):
    response = post(api_client, body(), demo["keys"]["public"], key="   ")
    assert response.status_code == 400
    assert response.json() == {"detail": "Idempotency-Key must not be blank"}
    assert not Booking.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["x" * 256, "bad\x00key", "tab\tkey"])
def test_unusable_idempotency_key_is_400(api_client, demo, key):
    response = post(api_client, body(), demo["keys"]["public"], key=key)
    assert response.status_code == 400
    assert response.json() == {"detail": "Idempotency-Key must be at most 255 printable characters"}
    assert not Booking.objects.exists()
