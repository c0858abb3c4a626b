"""Input a fuzzer or an attacker sends is a 4xx naming what is wrong, never a 500 (invariant 7).

Each case is one the outside test of the platform found answering 500 with a traceback: digits
that `str.isdigit()` accepts and `int()` refuses (`¹`, `①`) in ids, JSON nested 100,000 deep, a
year past datetime's arithmetic, a NUL byte where PostgreSQL compares text."""

import pytest
from rest_framework.test import APIClient

from tests.factories import future_day, local_dt

FAR = "9999-12-31T23:59:59Z"
DEEP = "[" * 100_000 + "]" * 100_000
AVAILABILITY = "/api/calendar/v1/public/availability"


@pytest.fixture
def world(demo):
    """The demo organization, its keys as clients, and one booking made from a hold."""

    def client(**credentials) -> APIClient:
        api = APIClient(raise_request_exception=False)
        api.credentials(**credentials)
        return api

    clients = {
        "anonymous": client(),
        "business": client(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['business']}"),
        "session": client(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['session']}"),
        "customer": client(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['customer']}"),
        "public": client(HTTP_X_KORDLESS_KEY=demo["keys"]["public"]),
    }
    starts_at = local_dt("America/New_York", future_day(weekday=2), 11)
    hold = (
        clients["business"]
        .post(
            "/api/v1/bookings/hold",
            {
                "service_id": demo["services"]["haircut"]["uuid"],
                "location_id": demo["location"]["uuid"],
                "starts_at": starts_at.isoformat(),
            },
            format="json",
        )
        .json()
    )
    booking = (
        clients["business"]
        .post(
            "/api/v1/bookings",
            {
                "hold_id": hold["hold_id"],
                "client": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"},
            },
            format="json",
        )
        .json()
    )
    window = f"from={starts_at.date()}T00:00:00Z&to={starts_at.date()}T23:00:00Z"
    return {"demo": demo, "clients": clients, "booking": booking, "window": window}


def availability(world, **params) -> str:
    query = "&".join(
        f"{name}={value}" for name, value in {"org_slug": "acme-salon", "service_slug": "haircut", **params}.items()
    )
    return f"{AVAILABILITY}?{world['window']}&{query}"


def hold_body(world, **changes) -> dict:
    demo = world["demo"]
    return {
        "service_id": demo["services"]["haircut"]["uuid"],
        "location_id": demo["location"]["uuid"],
        "starts_at": "2030-01-01T15:00:00Z",
        **changes,
    }


def merchant_body(world, **changes) -> dict:
    return {
        "service_id": world["demo"]["services"]["haircut"]["id"],
        "timestamp": "2030-01-01T15:00:00Z",
        "customers": [{"first_name": "Jo"}],
        "is_recurring": False,
        **changes,
    }


def customer_body(world, **changes) -> dict:
    demo = world["demo"]
    return {
        "merchant_name": "acme-salon",
        "service_id": demo["services"]["haircut"]["id"],
        "location_id": demo["location"]["id"],
        "timeStamp": "2030-01-01T15:00:00Z",
        **changes,
    }


def public_body(**changes) -> dict:
    return {
        "org_slug": "acme-salon",
        "service_slug": "haircut",
        "starts_at": "2030-01-01T15:00:00Z",
        "timezone": "America/New_York",
        "contact": {"name": "Jane Doe", "email": "jane@example.com"},
        **changes,
    }


def booking_path(world, tail: str = "") -> str:
    return f"/api/v1/bookings/{world['booking']['id']}{tail}"


# (name, client, method, path(world), body(world) or a raw JSON string, status, what the detail starts with)
CASES = [
    # Digits int() refuses, in every kind of id.
    ("invite ¹", "anonymous", "get", lambda w: "/api/calendar/v1/public/bookings/%C2%B9/invite.ics?token=x", None, 404, "Booking not found"),
    ("invite ①", "anonymous", "get", lambda w: "/api/calendar/v1/public/bookings/%E2%91%A0/invite.ics?token=x", None, 404, "Booking not found"),
    ("booking ¹", "business", "get", lambda w: "/api/v1/bookings/%C2%B9", None, 404, "Booking not found"),
    ("booking ① by a session", "session", "get", lambda w: "/api/v1/bookings/%E2%91%A0", None, 404, "Booking not found"),
    ("PATCH booking ¹", "business", "patch", lambda w: "/api/v1/bookings/%C2%B9", lambda w: {"notes": "x"}, 404, "Booking not found"),
    ("DELETE booking ①", "business", "delete", lambda w: "/api/v1/bookings/%E2%91%A0", None, 404, "Booking not found"),
    ("cancel booking ¹", "business", "post", lambda w: "/api/v1/bookings/%C2%B9/cancel", lambda w: {}, 404, "Booking not found"),
    ("availability party_size ¹", "public", "get", lambda w: availability(w, party_size="%C2%B9"), None, 400, "party_size"),
    ("availability party_size of 5000 digits", "public", "get", lambda w: availability(w, party_size="9" * 5000), None, 400, "party_size"),
    ("availability location_id ¹", "public", "get", lambda w: availability(w, location_id="%C2%B9"), None, 404, "Location not found"),
    ("availability host_id ①", "public", "get", lambda w: availability(w, host_id="%E2%91%A0"), None, 404, "Staff member not found"),
    ("availability team_id ¹", "public", "get", lambda w: availability(w, team_id="%C2%B9"), None, 404, "Team not found"),
    # JSON nested 100,000 deep.
    ("deep JSON: hold", "business", "post", lambda w: "/api/v1/bookings/hold", DEEP, 400, "JSON parse error"),
    ("deep JSON: booking from a hold", "session", "post", lambda w: "/api/v1/bookings", DEEP, 400, "JSON parse error"),
    ("deep JSON: PATCH", "business", "patch", booking_path, DEEP, 400, "JSON parse error"),
    ("deep JSON: merchant booking", "business", "post", lambda w: "/bookings/merchant", DEEP, 400, "JSON parse error"),
    ("deep JSON: customer booking", "customer", "post", lambda w: "/bookings/customer", DEEP, 400, "JSON parse error"),
    ("deep JSON: public booking", "public", "post", lambda w: "/api/calendar/v1/public/bookings", DEEP, 400, "JSON parse error"),
    ("deep JSON: webhook endpoint", "business", "post", lambda w: "/api/v1/webhook-endpoints", DEEP, 400, "JSON parse error"),
    ("JSON 40 deep", "business", "post", lambda w: "/api/v1/bookings/hold", "[" * 40 + "]" * 40, 400, "JSON parse error"),
    # The last second of year 9999.
    ("hold starts_at 9999", "business", "post", lambda w: "/api/v1/bookings/hold", lambda w: hold_body(w, starts_at=FAR), 400, "starts_at"),
    ("merchant timestamp 9999", "business", "post", lambda w: "/bookings/merchant", lambda w: merchant_body(w, timestamp=FAR), 400, "timestamp"),
    ("customer timeStamp 9999", "customer", "post", lambda w: "/bookings/customer", lambda w: customer_body(w, timeStamp=FAR), 400, "timeStamp"),
    ("public starts_at 9999", "public", "post", lambda w: "/api/calendar/v1/public/bookings", lambda w: public_body(starts_at=FAR), 400, "starts_at"),
    ("PATCH starts_at 9999", "business", "patch", booking_path, lambda w: {"starts_at": FAR}, 400, "starts_at"),
    ("PATCH ends_at 9999", "business", "patch", booking_path, lambda w: {"ends_at": FAR}, 400, "ends_at"),
    ("reschedule starts_at 9999", "business", "post", lambda w: booking_path(w, "/reschedule"), lambda w: {"starts_at": FAR}, 400, "starts_at"),
    ("availability to 9999", "public", "get", lambda w: f"{AVAILABILITY}?org_slug=acme-salon&service_slug=haircut&from=9999-12-31T00:00:00Z&to={FAR}", None, 400, "from"),
    # NUL bytes, which PostgreSQL refuses in any text it compares.
    ("availability org_slug NUL", "public", "get", lambda w: availability(w, org_slug="acme%00salon"), None, 400, "org_slug"),
    ("availability service_slug NUL", "public", "get", lambda w: availability(w, service_slug="hair%00cut"), None, 400, "service_slug"),
    ("availability location_id NUL", "public", "get", lambda w: availability(w, location_id="1%00"), None, 400, "location_id"),
    ("availability from NUL", "public", "get", lambda w: f"{AVAILABILITY}?org_slug=acme-salon&service_slug=haircut&from=2030-01-01T00:00:00Z%00&to=2030-01-02T00:00:00Z", None, 400, "from"),
    ("bookings filter email NUL", "business", "get", lambda w: "/api/v1/bookings?email=a%00b", None, 400, "email"),
    ("bookings filter status NUL", "business", "get", lambda w: "/api/v1/bookings?status=a%00b", None, 400, "status"),
    ("customers filter email NUL", "business", "get", lambda w: "/api/v1/customers/?email=a%00b", None, 400, "email"),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("client", "method", "path", "body", "status", "detail"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_a_4xx_naming_the_field(world, client, method, path, body, status, detail):
    api = world["clients"][client]
    if isinstance(body, str):
        response = getattr(api, method)(path(world), data=body, content_type="application/json")
    elif body is not None:
        response = getattr(api, method)(path(world), body(world), format="json")
    else:
        response = getattr(api, method)(path(world))
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"].startswith(detail), response.json()
