"""A class is one booking that several customers share: each of them, through any key, reads only their
own contact details and places, never another participant's (the merchant's keys still see the booking's)."""

from datetime import UTC
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from bookings.models import Booking
from bookings.services.actors import SYSTEM
from bookings.services.bookings import Contact, booking_create
from organizations.models import ApiKey, Service
from tests.factories import future_day, local_dt, make_customer, make_key, make_location, make_org, make_service

pytestmark = pytest.mark.django_db

TZ = "America/New_York"
OWNER = {"first_name": "John", "last_name": "Owner", "email": "john.owner@example.com", "phone": "+15550001111"}


def bearer(secret: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def studio():
    org = make_org(slug="studio", timezone=TZ)
    location = make_location(org, name="Riverside Studio")
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_max=10, name="Sunrise Yoga")
    starts_at = local_dt(TZ, future_day(), 10)
    john = make_customer(org, **OWNER)
    session = booking_create(
        service=yoga,
        location=location,
        starts_at=starts_at,
        customer=john,
        actor=SYSTEM,
        party_size=3,
        notes="John's knee: no kneeling poses",
        contact=Contact(name="John Owner", email=OWNER["email"], phone=OWNER["phone"]),
    )
    jane = make_customer(
        org, first_name="Jane", last_name="Joiner", email="jane.joiner@example.com", phone="+15552223333"
    )
    return SimpleNamespace(
        org=org,
        location=location,
        yoga=yoga,
        starts_at=starts_at,
        session=session,
        john=john,
        jane=jane,
        jane_key=make_key(org, kind=ApiKey.Kind.CUSTOMER, customer=jane)[1],
        john_key=make_key(org, kind=ApiKey.Kind.CUSTOMER, customer=john)[1],
    )


def join(studio, secret: str, **overrides):
    body = {
        "merchant_name": studio.org.slug,
        "service_id": studio.yoga.id,
        "location_id": studio.location.id,
        "timeStamp": studio.starts_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "booking_id": studio.session.id,
        **overrides,
    }
    return bearer(secret).post("/bookings/customer", body, format="json")


def assert_nothing_of_john(body: str) -> None:
    for secret in ("John", "Owner", OWNER["email"], "0001111", "knee"):
        assert secret.lower() not in body.lower(), secret


def test_a_participant_reads_the_class_with_only_their_own_details(studio):
    assert join(studio, studio.jane_key).status_code == 201
    jane = bearer(studio.jane_key)

    shown = jane.get(f"/api/v1/bookings/{studio.session.public_id}")

    assert shown.status_code == 200, shown.json()
    assert_nothing_of_john(shown.content.decode())
    data = shown.json()
    assert data["client"] == {
        "id": str(studio.jane.uuid),
        "first_name": "Jane",
        "last_name": "Joiner",
        "email": "jane.joiner@example.com",
        "phone": "+15552223333",
    }
    assert data["party_size"] == 1  # her place, not the class's 4 seats
    assert data["notes"] == ""
    listed = jane.get("/api/v1/bookings").json()["results"]
    assert [row["id"] for row in listed] == [studio.session.public_id]
    assert listed[0] == data


def test_the_class_owner_sees_their_own_places_not_the_others(studio):
    assert join(studio, studio.jane_key).status_code == 201

    data = bearer(studio.john_key).get(f"/api/v1/bookings/{studio.session.public_id}").json()

    assert data["client"]["email"] == OWNER["email"]
    assert data["party_size"] == 3
    assert data["notes"] == "John's knee: no kneeling poses"
    assert "jane" not in str(data).lower()


def test_the_merchant_still_sees_the_whole_class(studio):
    assert join(studio, studio.jane_key).status_code == 201

    data = bearer(make_key(studio.org)[1]).get(f"/api/v1/bookings/{studio.session.public_id}").json()

    assert data["client"]["email"] == OWNER["email"]
    assert data["party_size"] == 4


def test_a_second_widget_booking_into_a_class_is_answered_with_its_own_details(studio):
    def widget_books(email: str, first_name: str):
        session = bearer(make_key(studio.org, kind=ApiKey.Kind.SESSION)[1])
        held = session.post(
            "/api/v1/bookings/hold",
            {
                "service_id": str(studio.yoga.uuid),
                "location_id": str(studio.location.uuid),
                "starts_at": studio.starts_at.isoformat(),
            },
            format="json",
        )
        assert held.status_code == 201, held.json()
        client = {"first_name": first_name, "last_name": "Widget", "email": email, "phone": "+15554445555"}
        response = session.post(
            "/api/v1/bookings", {"hold_id": held.json()["hold_id"], "client": client}, format="json"
        )
        assert response.status_code == 201, response.json()
        return response

    answer = widget_books("ann.widget@example.com", "Ann")

    assert_nothing_of_john(answer.content.decode())
    assert answer.json()["client"]["email"] == "ann.widget@example.com"
    assert answer.json()["party_size"] == 1
    assert answer.json()["id"] == studio.session.public_id
    assert Booking.objects.get(pk=studio.session.pk).party_size == 4


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"timeStamp": "2030-01-01T15:00:00Z"}, id="another-time"),
        pytest.param({"service_id": "other-service"}, id="another-service"),
        pytest.param({"location_id": "other-location"}, id="another-location"),
    ],
)
def test_joining_a_booking_that_is_not_joinable_reveals_nothing_of_it(studio, overrides):
    other_location = make_location(studio.org, name="Hilltop Annex")
    pilates = make_service(
        studio.org, locations=[studio.location, other_location], kind=Service.Kind.GROUP, name="Pilates"
    )
    studio.yoga.locations.add(other_location)
    if overrides.get("service_id") == "other-service":
        overrides = {"service_id": pilates.id}
    if overrides.get("location_id") == "other-location":
        overrides = {"location_id": other_location.id}

    response = join(studio, studio.jane_key, **overrides)

    assert response.status_code == 422, response.json()
    detail = response.json()["detail"]
    local = studio.starts_at
    for revealing in ("Sunrise Yoga", "Riverside", local.strftime("%H:%M"), local.astimezone(UTC).strftime("%H:%M")):
        assert revealing not in detail, revealing
    assert str(local.date()) not in detail
    assert_nothing_of_john(detail)


def test_a_participant_cannot_test_whether_an_email_booked_the_class(studio):
    assert join(studio, studio.jane_key).status_code == 201
    jane = bearer(studio.jane_key)

    for name in ("email", "customer_email"):
        assert jane.get(f"/api/v1/bookings?{name}={OWNER['email']}").json()["results"] == []
        own = jane.get(f"/api/v1/bookings?{name}=Jane.Joiner@example.com").json()["results"]
        assert [row["id"] for row in own] == [studio.session.public_id]
    mine = bearer(studio.john_key).get(f"/api/v1/bookings?email={OWNER['email']}").json()["results"]
    assert [row["id"] for row in mine] == [studio.session.public_id]
