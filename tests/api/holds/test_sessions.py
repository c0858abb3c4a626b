"""`POST /api/v1/sessions`: a public key mints a short-lived `cal_ses_` token that the holds API takes."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from bookings.models import Booking
from organizations.keys import api_key_revoke, hash_secret
from organizations.models import ApiKey
from tests.factories import future_day, local_dt, make_customer, make_key, make_location, make_org, make_service

pytestmark = pytest.mark.django_db

URL = "/api/v1/sessions"
CLIENT = {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com"}


def make_shop():
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location], duration_minutes=30)
    return SimpleNamespace(org=org, location=location, service=service, public=make_key(org, kind=ApiKey.Kind.PUBLIC))


@pytest.fixture
def shop():
    return make_shop()


def mint(secret: str | None, *, address: str = "203.0.113.7", **headers):
    if secret is not None:
        headers.setdefault("HTTP_X_KORDLESS_KEY", secret)
    return APIClient().post(URL, format="json", REMOTE_ADDR=address, **headers)


def minted(secret: str, **kwargs) -> str:
    response = mint(secret, **kwargs)
    assert response.status_code == 201, response.json()
    return response.json()["token"]


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def hold(client: APIClient, shop, hour: int = 10):
    body = {
        "service_id": str(shop.service.uuid),
        "location_id": str(shop.location.uuid),
        "starts_at": local_dt(shop.org.timezone, future_day(), hour).isoformat(),
    }
    return client.post("/api/v1/bookings/hold", body, format="json")


# --- minting ---------------------------------------------------------------------------------


def test_a_public_key_mints_a_session_token_for_its_organization(shop):
    public_key, secret = shop.public
    before = timezone.now()

    response = mint(secret)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    assert body["token"].startswith("cal_ses_")
    assert body["expires_at"].endswith("Z")
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.tzinfo is not None and expires_at.utcoffset() == timedelta(0)
    assert timedelta(minutes=30) <= expires_at - before <= timedelta(minutes=30, seconds=5)
    token = ApiKey.objects.get(secret_hash=hash_secret(body["token"]))
    assert token.kind == ApiKey.Kind.SESSION
    assert token.issued_by == public_key
    assert token.expires_at == expires_at.astimezone(UTC)
    assert list(token.organizations.all()) == [shop.org]
    assert body["token"] not in (token.prefix, token.secret_hash)  # stored hashed, shown once


def test_the_bearer_header_works_too_and_minutes_come_from_settings(shop, settings):
    settings.SESSION_TOKEN_MINUTES = 5
    before = timezone.now()
    response = mint(None, HTTP_AUTHORIZATION=f"Bearer {shop.public[1]}")
    assert response.status_code == 201, response.json()
    expires_at = datetime.fromisoformat(response.json()["expires_at"])
    assert timedelta(minutes=5) <= expires_at - before <= timedelta(minutes=5, seconds=5)


def test_minting_leaves_the_catalog_cache_alone(shop):
    with mock.patch("bookings.caching.invalidation.catalog_invalidate") as invalidate:
        minted(shop.public[1])
    invalidate.assert_not_called()


# --- using the token -------------------------------------------------------------------------


def test_the_token_holds_books_and_shows_its_booking(shop):
    client = bearer(minted(shop.public[1]))

    held = hold(client, shop)
    assert held.status_code == 201, held.json()
    booked = client.post("/api/v1/bookings", {"hold_id": held.json()["hold_id"], "client": CLIENT}, format="json")
    assert booked.status_code == 201, booked.json()
    assert booked.json()["organization"] == shop.org.slug

    shown = client.get(f"/api/v1/bookings/{booked.json()['id']}")
    assert shown.status_code == 200, shown.json()
    assert shown.json()["uuid"] == booked.json()["uuid"]
    assert Booking.objects.get(uuid=booked.json()["uuid"]).created_by_key.issued_by == shop.public[0]


def test_an_expired_token_is_401(shop):
    token = minted(shop.public[1])
    ApiKey.objects.filter(secret_hash=hash_secret(token)).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = hold(bearer(token), shop)

    assert response.status_code == 401
    assert response.json() == {"detail": "API key has expired"}


def test_revoking_the_public_key_revokes_the_tokens_it_minted(shop):
    token = minted(shop.public[1])
    api_key_revoke(api_key=shop.public[0])

    assert hold(bearer(token), shop).status_code == 401
    assert mint(shop.public[1]).status_code == 401


def test_the_token_is_scoped_to_the_public_keys_organization(shop):
    other = make_shop()
    client = bearer(minted(shop.public[1]))

    foreign = hold(client, other)
    assert foreign.status_code == 404
    assert set(foreign.json()) == {"detail"}

    # Another token of the same organization does not see this token's booking either.
    held = hold(client, shop)
    booked = client.post("/api/v1/bookings", {"hold_id": held.json()["hold_id"], "client": CLIENT}, format="json")
    assert booked.status_code == 201, booked.json()
    stranger = bearer(minted(shop.public[1], address="198.51.100.9"))
    assert stranger.get(f"/api/v1/bookings/{booked.json()['id']}").status_code == 404
    assert stranger.get("/api/v1/bookings").json()["results"] == []


def test_a_session_token_cannot_change_a_booking(shop):
    client = bearer(minted(shop.public[1]))
    held = hold(client, shop)
    booked = client.post("/api/v1/bookings", {"hold_id": held.json()["hold_id"], "client": CLIENT}, format="json")
    response = client.delete(f"/api/v1/bookings/{booked.json()['id']}")
    assert response.status_code == 403


# --- who may mint ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ApiKey.Kind.BUSINESS, ApiKey.Kind.HUB, ApiKey.Kind.SESSION, ApiKey.Kind.CUSTOMER])
def test_other_kinds_of_key_are_403(shop, kind):
    customer = make_customer(shop.org) if kind == ApiKey.Kind.CUSTOMER else None
    _, secret = make_key(shop.org, kind=kind, customer=customer)

    response = mint(None, HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 403
    assert response.json() == {"detail": f"A {kind} key may not do this"}
    assert not ApiKey.objects.filter(issued_by__isnull=False).exists()


def test_no_key_or_an_unknown_key_is_401(shop):
    missing = mint(None)
    assert missing.status_code == 401
    assert set(missing.json()) == {"detail"}
    unknown = mint("cal_pub_not-a-key")
    assert unknown.status_code == 401
    assert unknown.json() == {"detail": "Invalid API key"}


def test_other_methods_are_405(shop):
    response = APIClient().get(URL, HTTP_X_KORDLESS_KEY=shop.public[1])
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"


# --- rate limits -----------------------------------------------------------------------------


def assert_rate_limited(response) -> None:
    assert response.status_code == 429
    assert response.json() == {"detail": "Rate limit exceeded"}
    assert int(response["Retry-After"]) >= 1


def test_minting_is_rate_limited_per_key(shop, settings):
    settings.SESSION_RATE_LIMIT = "2/h"
    settings.SESSION_ADDRESS_RATE_LIMIT = "100/h"
    secret = shop.public[1]
    assert mint(secret, address="192.0.2.1").status_code == 201
    assert mint(secret, address="192.0.2.2").status_code == 201

    assert_rate_limited(mint(secret, address="192.0.2.3"))
    # Another organization's public key has its own budget.
    assert mint(make_shop().public[1], address="192.0.2.3").status_code == 201


def test_minting_is_rate_limited_per_client_address(shop, settings):
    settings.SESSION_RATE_LIMIT = "100/h"
    settings.SESSION_ADDRESS_RATE_LIMIT = "2/h"
    other_key = make_shop().public[1]
    assert mint(shop.public[1], address="192.0.2.1").status_code == 201
    assert mint(other_key, address="192.0.2.1").status_code == 201

    assert_rate_limited(mint(shop.public[1], address="192.0.2.1"))
    assert mint(shop.public[1], address="192.0.2.2").status_code == 201


def test_requests_refused_per_address_do_not_spend_the_keys_budget(shop, settings):
    settings.SESSION_RATE_LIMIT = "3/h"
    settings.SESSION_ADDRESS_RATE_LIMIT = "1/h"
    secret = shop.public[1]
    assert mint(secret, address="192.0.2.1").status_code == 201
    for _ in range(3):
        assert_rate_limited(mint(secret, address="192.0.2.1"))
    assert mint(secret, address="192.0.2.2").status_code == 201
    assert mint(secret, address="192.0.2.3").status_code == 201
    assert_rate_limited(mint(secret, address="192.0.2.4"))


def test_the_client_address_honours_num_proxies(shop, settings):
    settings.SESSION_ADDRESS_RATE_LIMIT = "1/h"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    secret = shop.public[1]
    proxy = "10.0.0.1"
    assert mint(secret, address=proxy, HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 201
    assert mint(secret, address=proxy, HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 201
    assert_rate_limited(mint(secret, address=proxy, HTTP_X_FORWARDED_FOR="192.0.2.1"))


def test_a_refused_kind_spends_no_budget(shop, settings):
    settings.SESSION_ADDRESS_RATE_LIMIT = "1/h"
    _, business = make_key(shop.org)
    assert mint(None, HTTP_AUTHORIZATION=f"Bearer {business}").status_code == 403
    assert mint(shop.public[1]).status_code == 201


# --- OpenAPI ---------------------------------------------------------------------------------


def test_openapi_documents_the_path():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/sessions"]["post"]
    assert {"201", "401", "403", "429"} <= set(operation["responses"])
    created = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][created]["properties"]) == {"token", "expires_at"}
    assert {"kordlessKey": []} in operation["security"]
