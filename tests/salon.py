"""Fixtures of the customer-facing tests (pages, self-service): a salon with a haircut served by two staff, a
class, a service with a deposit; and the local Stripe stand-in as `stripe_api`."""

from datetime import UTC
from types import SimpleNamespace

import pytest
from django.db import transaction

from bookings.models import Booking, BookingStatus
from bookings.payments.checkout import deposit_checkout_open
from bookings.payments.settlement import checkout_completed
from organizations.models import Service
from tests.factories import (
    future_day,
    local_dt,
    make_core_booking,
    make_customer,
    make_location,
    make_org,
    make_service,
    make_staff,
)
from tests.stripe_standin import StripeStandIn

TZ = "America/New_York"


@pytest.fixture
def salon(db):
    org = make_org(slug="kind-salon", name="Kind Salon", timezone=TZ, currency="USD", cancellation_cutoff_minutes=120)
    location = make_location(org, name="Main Street", value="1 Main St")
    alex, sam = make_staff(org, name="Alex"), make_staff(org, name="Sam")
    haircut = make_service(
        org,
        locations=[location],
        staff=[alex, sam],
        slug="haircut",
        name="Haircut",
        duration_minutes=60,
        slot_interval_minutes=30,
        price_minor=4500,
    )
    yoga = make_service(
        org,
        locations=[location],
        slug="yoga",
        name="Yoga",
        kind=Service.Kind.GROUP,
        capacity_min=1,
        capacity_max=3,
        price_minor=2000,
    )
    color = make_service(
        org,
        locations=[location],
        staff=[alex],
        slug="color",
        name="Color",
        duration_minutes=90,
        price_minor=12000,
        deposit_minor=2000,
    )
    day = future_day(weekday=2)
    return SimpleNamespace(
        org=org,
        location=location,
        alex=alex,
        sam=sam,
        haircut=haircut,
        yoga=yoga,
        color=color,
        day=day,
        at=lambda hour, minute=0, d=day: local_dt(TZ, d, hour, minute).astimezone(UTC),
    )


@pytest.fixture
def stripe_api(settings):
    with StripeStandIn() as standin:
        settings.STRIPE_SECRET_KEY = "sk_test_standin"
        settings.STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
        settings.STRIPE_API_BASE = standin.url
        yield standin


def paid_color(salon, standin: StripeStandIn, hour=9) -> Booking:
    """A Color booking whose deposit the customer paid through (the stand-in's) Stripe Checkout."""
    checkout = deposit_checkout_open(
        service=salon.color, location=salon.location, starts_at=salon.at(hour), email="jane@example.com"
    )
    booking = make_core_booking(
        salon.color,
        starts_at=salon.at(hour),
        customer=make_customer(salon.org, email="jane@example.com"),
        status=BookingStatus.PENDING,
        checkout=checkout,
    )
    session = standin.pay(checkout.session_id)
    with transaction.atomic():
        checkout_completed(Booking.objects.select_for_update().get(pk=booking.pk), session)
    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("confirmed", "paid")
    return booking
