"""Fixtures of the payment tests: a shop with a deposit service, and the local Stripe stand-in."""

from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from organizations.models import ApiKey
from tests.factories import future_day, local_dt, make_key, make_location, make_org, make_service, make_staff
from tests.stripe_standin import StripeStandIn

TZ = "America/New_York"
WEBHOOK_SECRET = "whsec_test_secret"


def client_for(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def shop(db):
    org = make_org(timezone=TZ, currency="EUR")
    location = make_location(org, name="Main Street")
    service = make_service(
        org, locations=[location], staff=[make_staff(org)], name="Color", price_minor=12000, deposit_minor=2000
    )
    day = future_day()
    return SimpleNamespace(
        org=org,
        location=location,
        service=service,
        at=lambda hour: local_dt(TZ, day, hour),
        session=client_for(make_key(org, kind=ApiKey.Kind.SESSION)[1]),
    )


@pytest.fixture
def stripe_standin(settings):
    with StripeStandIn() as standin:
        settings.STRIPE_SECRET_KEY = "sk_test_standin"
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = standin.url
        settings.SITE_URL = "https://shop.example"
        yield standin
