"""A public key lives in browser code, for anyone to read: it reaches availability, booking, the lookup,
the invite and session tokens, and nothing else (403), so it can never list anyone's bookings."""

from datetime import UTC, timedelta

import pytest
from rest_framework.test import APIClient

from organizations.models import ApiKey
from tests.api.test_urls import METHODS, call, csrf_client, sample_paths
from tests.factories import future_day, local_dt, make_key, make_location, make_org, make_service, make_staff

pytestmark = pytest.mark.django_db

TZ = "America/New_York"
# What a public key is for (the public booking API, its self-service, session tokens), and the routes
# that take no key at all (the schema and its browsers, Stripe's signed webhook).
PUBLIC_KEY_ROUTES = {
    "public-availability",
    "public-booking-create",
    "public-booking-lookup",
    "public-self-cancel",
    "public-self-reschedule",
    "public-booking-invite",
    "session-create",
}
KEYLESS_ROUTES = {"schema", "api-docs", "api-redoc", "stripe-webhook"}


@pytest.fixture
def shop():
    org = make_org(timezone=TZ)
    location = make_location(org)
    staff = make_staff(org)
    service = make_service(org, locations=[location], staff=[staff], duration_minutes=60)
    _, public = make_key(org, kind=ApiKey.Kind.PUBLIC)
    return org, service, public


def public_booking(api: APIClient, org, service, *, hour: int, email: str) -> dict:
    starts_at = local_dt(TZ, future_day(), hour).astimezone(UTC)
    body = {
        "org_slug": org.slug,
        "service_slug": service.slug,
        "starts_at": starts_at.isoformat().replace("+00:00", "Z"),
        "ends_at": (starts_at + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "timezone": TZ,
        "contact": {"name": "Jane Doe", "email": email, "phone": "+15551234567"},
        "party_size": 1,
    }
    response = api.post("/api/calendar/v1/public/bookings", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["booking"]


def test_a_public_key_lists_no_bookings_not_even_those_it_made(shop):
    org, service, public = shop
    api = APIClient(HTTP_X_KORDLESS_KEY=public)
    made = public_booking(api, org, service, hour=10, email="jane@example.com")

    for query in ("?limit=200", "?email=jane@example.com", "?email=nobody@example.com"):
        response = api.get(f"/api/v1/bookings{query}")
        assert response.status_code == 403, response.json()
        assert set(response.json()) == {"detail"}
        assert "jane" not in response.content.decode().lower()
    shown = api.get(f"/api/v1/bookings/{made['id']}")
    assert shown.status_code == 403
    assert "jane" not in shown.content.decode().lower()


def test_a_public_key_sent_as_bearer_is_refused_the_same(shop):
    org, service, public = shop
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {public}")
    public_booking(APIClient(HTTP_X_KORDLESS_KEY=public), org, service, hour=11, email="jane@example.com")

    response = api.get("/api/v1/bookings?limit=200")

    assert response.status_code == 403
    assert set(response.json()) == {"detail"}


def test_the_session_token_a_public_key_mints_still_sees_what_it_made(shop):
    org, service, public = shop
    minted = APIClient(HTTP_X_KORDLESS_KEY=public).post("/api/v1/sessions")
    assert minted.status_code == 201
    session = APIClient(HTTP_AUTHORIZATION=f"Bearer {minted.json()['token']}")
    location = service.locations.get()
    held = session.post(
        "/api/v1/bookings/hold",
        {
            "service_id": str(service.uuid),
            "location_id": str(location.uuid),
            "starts_at": local_dt(TZ, future_day(), 14).isoformat(),
        },
        format="json",
    )
    assert held.status_code == 201, held.json()
    client = {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com"}
    booked = session.post("/api/v1/bookings", {"hold_id": held.json()["hold_id"], "client": client}, format="json")
    assert booked.status_code == 201, booked.json()

    assert session.get(f"/api/v1/bookings/{booked.json()['id']}").status_code == 200
    assert [b["id"] for b in session.get("/api/v1/bookings").json()["results"]] == [booked.json()["id"]]


def _route_paths() -> list[tuple[str, str]]:
    return [(path, name) for path, name in sample_paths() if name not in KEYLESS_ROUTES]


# Ids name the route, not the sample path (it holds a fresh uuid): every xdist worker must collect the same tests.
@pytest.mark.parametrize(("path", "name"), _route_paths(), ids=[name for _, name in _route_paths()])
def test_every_route_but_the_public_ones_refuses_a_public_key(shop, path, name):
    _, _, public = shop
    for header in ({"HTTP_X_KORDLESS_KEY": public}, {"HTTP_AUTHORIZATION": f"Bearer {public}"}):
        client = csrf_client(**header)
        for method in METHODS:
            response = call(client, method, path)
            assert response.status_code < 500, (method, path)
            assert response["Content-Type"].startswith("application/json"), (method, path)
            if name in PUBLIC_KEY_ROUTES:
                # Served (or refused for what the request says, never for the key's kind).
                assert "public key may not" not in response.json().get("detail", ""), (method, path)
            else:
                assert response.status_code == 403, (method, path, response.status_code, response.json())
                assert set(response.json()) == {"detail"}
                assert response.json()["detail"].startswith("A public key may not"), (method, path)
