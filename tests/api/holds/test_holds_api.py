"""`POST /api/v1/bookings/hold`, `DELETE /api/v1/bookings/hold/{id}` and `manage.py expire_holds`."""

from datetime import time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from bookings.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from holds.models import Hold
from organizations.models import ApiKey, Service
from tests.factories import future_day, local_dt, make_key, make_location, make_org, make_service, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    org = make_org(hold_minutes=10, max_advance_days=60)
    location = make_location(org, hours=(time(9), time(17)))
    alex, sam = make_staff(org), make_staff(org)
    service = make_service(org, locations=[location], staff=[alex, sam], duration_minutes=30)
    return org, location, alex, sam, service


def post_hold(api_client, secret, **body):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api_client.post("/api/v1/bookings/hold", body, format="json")


def hold_body(service, location, starts_at, **extra):
    return {"service_id": str(service.uuid), "location_id": str(location.uuid), "starts_at": starts_at, **extra}


def test_hold_returns_the_reference_shape_and_assigns_staff(api_client, shop):
    org, location, alex, sam, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    starts_at = local_dt(org.timezone, future_day(), 14)
    before = timezone.now()

    response = post_hold(api_client, secret, **hold_body(service, location, starts_at.isoformat()))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= {"hold_id", "service_id", "location_id", "starts_at", "ends_at", "expires_at"}
    hold = Hold.objects.get(uuid=body["hold_id"])
    assert hold.staff == alex and hold.status == "active"
    assert body["service_id"] == str(service.uuid) and body["location_id"] == str(location.uuid)
    assert hold.ends_at - hold.starts_at == timedelta(minutes=30)
    assert timedelta(minutes=10) <= hold.expires_at - before <= timedelta(minutes=10, seconds=5)


def test_second_hold_gets_the_other_staff_member_then_409(api_client, shop):
    org, location, alex, sam, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    body = hold_body(service, location, local_dt(org.timezone, future_day(), 14).isoformat())
    assert post_hold(api_client, secret, **body).json()["staff_id"] == str(alex.uuid)
    assert post_hold(api_client, secret, **body).json()["staff_id"] == str(sam.uuid)
    third = post_hold(api_client, secret, **body)
    assert third.status_code == 409
    assert third.json() == {"detail": "Time slot is no longer available"}


def test_asking_for_a_busy_staff_member_is_409(api_client, shop):
    org, location, alex, sam, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.BUSINESS)
    body = hold_body(service, location, local_dt(org.timezone, future_day(), 14).isoformat(), staff_id=str(alex.uuid))
    assert post_hold(api_client, secret, **body).status_code == 201
    assert post_hold(api_client, secret, **body).status_code == 409


@pytest.mark.parametrize(
    ("hour", "minute", "days", "reason"),
    [
        (8, 0, 7, "outside service hours"),
        (14, 10, 7, "outside service hours"),
        (16, 45, 7, "outside service hours"),  # would end after closing
        (14, 0, 90, "too far ahead"),
    ],
)
def test_not_a_slot_is_422_with_the_reason(api_client, shop, hour, minute, days, reason):
    org, location, alex, sam, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    starts_at = local_dt(org.timezone, future_day(days_ahead=days), hour, minute)
    response = post_hold(api_client, secret, **hold_body(service, location, starts_at.isoformat()))
    assert response.status_code == 422
    assert reason in response.json()["detail"]


def test_too_soon_and_past_are_422(api_client, shop):
    org, location, alex, sam, service = shop
    org.min_notice_minutes = 24 * 60
    org.save()
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    soon = (timezone.now() + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    response = post_hold(api_client, secret, **hold_body(service, location, soon.isoformat()))
    assert response.status_code == 422
    past = post_hold(api_client, secret, **hold_body(service, location, "2020-01-01T10:00:00+00:00"))
    assert past.status_code == 422 and "future" in past.json()["detail"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"service_id": "nope"}, "service_id"),
        ({"location_id": None}, "location_id"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"starts_at": "2030-01-01T10:00:00"}, "starts_at: a UTC offset is required"),
        ({"party_size": 0}, "party_size"),
    ],
)
def test_malformed_input_is_400_naming_the_field(api_client, shop, change, message):
    org, location, alex, sam, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    body = {**hold_body(service, location, local_dt(org.timezone, future_day(), 14).isoformat()), **change}
    response = post_hold(api_client, secret, **body)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_unknown_or_foreign_service_is_404(api_client, shop):
    org, location, alex, sam, service = shop
    other_org = make_org()
    _, foreign_secret = make_key(other_org, kind=ApiKey.Kind.SESSION)
    body = hold_body(service, location, local_dt(org.timezone, future_day(), 14).isoformat())
    response = post_hold(api_client, foreign_secret, **body)
    assert response.status_code == 404 and response.json() == {"detail": "Service not found"}


def test_keys_that_may_not_hold(api_client, shop):
    org, location, alex, sam, service = shop
    body = hold_body(service, location, local_dt(org.timezone, future_day(), 14).isoformat())
    assert api_client.post("/api/v1/bookings/hold", body, format="json").status_code == 401
    _, public = make_key(org, kind=ApiKey.Kind.PUBLIC)
    assert post_hold(api_client, public, **body).status_code == 403


def test_group_hold_takes_seats(api_client):
    org = make_org()
    location = make_location(org)
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_max=5)
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    body = hold_body(yoga, location, local_dt(org.timezone, future_day(), 10).isoformat(), party_size=3)
    assert post_hold(api_client, secret, **body).status_code == 201
    assert post_hold(api_client, secret, **body).status_code == 409
    assert post_hold(api_client, secret, **{**body, "party_size": 2}).status_code == 201


def test_release_frees_the_slot_at_once_and_is_idempotent(api_client, shop):
    org, location, alex, sam, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    body = hold_body(service, location, local_dt(org.timezone, future_day(), 14).isoformat(), staff_id=str(alex.uuid))
    hold_id = post_hold(api_client, secret, **body).json()["hold_id"]

    response = api_client.delete(f"/api/v1/bookings/hold/{hold_id}")
    assert response.status_code == 200 and response.json()["status"] == "released"
    assert api_client.delete(f"/api/v1/bookings/hold/{hold_id}").json()["status"] == "released"
    assert post_hold(api_client, secret, **body).status_code == 201


def test_a_session_token_sees_only_its_own_holds(api_client, shop):
    org, location, alex, sam, service = shop
    _, mine = make_key(org, kind=ApiKey.Kind.SESSION)
    _, theirs = make_key(org, kind=ApiKey.Kind.SESSION)
    _, business = make_key(org, kind=ApiKey.Kind.BUSINESS)
    hold_id = post_hold(
        api_client, mine, **hold_body(service, location, local_dt(org.timezone, future_day(), 14).isoformat())
    ).json()["hold_id"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {theirs}")
    assert api_client.delete(f"/api/v1/bookings/hold/{hold_id}").status_code == 404
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {business}")
    assert api_client.get(f"/api/v1/bookings/hold/{hold_id}").status_code == 200


def test_an_expired_hold_stops_blocking_before_expire_holds_runs(api_client, shop):
    org, location, alex, sam, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    body = hold_body(service, location, local_dt(org.timezone, future_day(), 14).isoformat(), staff_id=str(alex.uuid))
    hold_id = post_hold(api_client, secret, **body).json()["hold_id"]
    Hold.objects.filter(uuid=hold_id).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert post_hold(api_client, secret, **body).status_code == 201
    assert Hold.objects.get(uuid=hold_id).status == "active"  # nobody tidied it yet


def test_expire_holds_marks_them_and_emits_hold_expired(shop):
    org, location, alex, sam, service = shop
    endpoint = WebhookEndpoint.objects.create(organization=org, url="http://127.0.0.1:9/hook", events=["hold.expired"])
    from tests.factories import make_hold

    starts_at = local_dt(org.timezone, future_day(), 14)
    expired = make_hold(service, location, starts_at, staff=alex, expires_at=timezone.now() - timedelta(minutes=1))
    live = make_hold(service, location, starts_at, staff=sam, expires_at=timezone.now() + timedelta(minutes=5))

    out = StringIO()
    call_command("expire_holds", stdout=out)

    assert out.getvalue().strip() == "Expired 1 hold."
    assert Hold.objects.get(pk=expired.pk).status == "expired"
    assert Hold.objects.get(pk=live.pk).status == "active"
    event = WebhookEvent.objects.get(type="hold.expired")
    assert event.data["hold_id"] == str(expired.uuid)
    assert WebhookDelivery.objects.filter(event=event, endpoint=endpoint).exists()
    call_command("expire_holds", stdout=out)
    assert WebhookEvent.objects.filter(type="hold.expired").count() == 1
