"""No call to Stripe while a writer lock is held: the Checkout Session is opened before the booking's
transaction begins (on SQLite that transaction is the database's write lock; on PostgreSQL it
holds the advisory locks), with and without an Idempotency-Key."""

from datetime import UTC, timedelta

import pytest
from django.db import connection
from rest_framework.test import APIClient

from bookings.models import Booking
from bookings.payments import checkout
from organizations.models import ApiKey
from tests.factories import make_key
from tests.payments.test_payments import CLIENT, hold

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stripe_calls(monkeypatch) -> list[bool]:
    """For each Stripe client made, whether a transaction was open at that moment."""
    seen: list[bool] = []
    real = checkout.stripe_client

    def watched():
        seen.append(connection.in_atomic_block)
        return real()

    monkeypatch.setattr(checkout, "stripe_client", watched)
    return seen


@pytest.mark.parametrize("idempotency_key", [None, "deposit-1"])
def test_booking_from_a_hold_opens_checkout_outside_any_transaction(
    shop, stripe_standin, stripe_calls, idempotency_key
):
    held = hold(shop, 10).json()
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    response = shop.session.post("/api/v1/bookings", {"hold_id": held["hold_id"], "client": CLIENT}, **headers)
    assert response.status_code == 201, response.json()
    assert stripe_calls == [False]
    assert Booking.objects.get(public_id=response.json()["id"]).stripe_checkout_session_id


@pytest.mark.parametrize("idempotency_key", [None, "deposit-2"])
def test_public_booking_opens_checkout_outside_any_transaction(shop, stripe_standin, stripe_calls, idempotency_key):
    _, secret = make_key(shop.org, kind=ApiKey.Kind.PUBLIC)
    start = shop.at(11).astimezone(UTC)
    body = {
        "org_slug": shop.org.slug,
        "service_slug": shop.service.slug,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=shop.service.duration_minutes)).isoformat(),
        "timezone": "America/New_York",
        "contact": {"name": "Jane Doe", "email": "jane@example.com"},
    }
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    response = APIClient().post(
        "/api/calendar/v1/public/bookings", body, format="json", HTTP_X_KORDLESS_KEY=secret, **headers
    )
    assert response.status_code == 201, response.json()
    assert response.json()["booking"]["redirect_url"]
    assert stripe_calls == [False]
