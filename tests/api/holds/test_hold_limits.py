"""One caller cannot empty a calendar with holds: rates, active holds, party size, lifetime."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from bookings.services.actors import SYSTEM
from bookings.services.holds import hold_place, hold_release
from holds.models import Hold
from organizations.errors import Conflict
from organizations.models import ApiKey, Service
from tests.factories import future_day, local_dt, make_key, make_location, make_org, make_service, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    org = make_org(hold_minutes=10, max_advance_days=60)
    location = make_location(org, hours=(time(9), time(17)))
    staff = make_staff(org)
    service = make_service(org, locations=[location], staff=[staff], duration_minutes=30)
    return org, location, service


def post_hold(api_client, secret, service, location, starts_at, address="192.0.2.10", **extra):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"service_id": str(service.uuid), "location_id": str(location.uuid), "starts_at": starts_at.isoformat()}
    return api_client.post("/api/v1/bookings/hold", {**body, **extra}, format="json", REMOTE_ADDR=address)


def day_slots(org, count: int):
    day = future_day()
    return [local_dt(org.timezone, day, 9) + timedelta(minutes=30 * i) for i in range(count)]


def test_one_session_token_holds_at_most_three_slots(api_client, shop):
    """18 holds in a row from one session token took every slot of a day; now the fourth is a 429."""
    org, location, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    codes = [post_hold(api_client, secret, service, location, slot).status_code for slot in day_slots(org, 18)]
    assert codes == [201] * 3 + [429] * 15
    assert Hold.objects.filter(status="active").count() == 3

    refused = post_hold(api_client, secret, service, location, day_slots(org, 5)[4])
    assert refused.json() == {
        "detail": "Too many active holds: a session may hold at most 3 slots at once; book or release one first"
    }
    assert 1 <= int(refused["Retry-After"]) <= 601

    # Releasing one makes room for one more.
    hold_release(hold=Hold.objects.filter(status="active").first(), actor=SYSTEM)
    assert post_hold(api_client, secret, service, location, day_slots(org, 5)[4]).status_code == 201


def test_fresh_session_tokens_from_one_address_share_its_cap(api_client, shop, settings):
    org, location, service = shop
    slots = day_slots(org, 8)
    for slot in slots[:3]:
        _, secret = make_key(org, kind=ApiKey.Kind.SESSION)  # a new token for every hold
        assert post_hold(api_client, secret, service, location, slot).status_code == 201
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    refused = post_hold(api_client, secret, service, location, slots[3])
    assert refused.status_code == 429
    assert "a client address may hold at most 3 slots" in refused.json()["detail"]
    assert post_hold(api_client, secret, service, location, slots[3], address="192.0.2.99").status_code == 201


def test_the_cap_is_a_setting(api_client, shop, settings):
    settings.HOLD_MAX_ACTIVE = 1
    org, location, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    first, second = day_slots(org, 2)
    assert post_hold(api_client, secret, service, location, first).status_code == 201
    assert post_hold(api_client, secret, service, location, second).status_code == 429


def test_a_business_key_has_a_cap_of_its_own(api_client, shop, settings):
    settings.HOLD_MAX_ACTIVE_PER_KEY = 4
    org, location, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.BUSINESS)
    codes = [post_hold(api_client, secret, service, location, slot).status_code for slot in day_slots(org, 5)]
    assert codes == [201] * 4 + [429]


def test_holds_are_rate_limited_per_key(api_client, shop, settings):
    settings.HOLD_RATE_LIMIT = "2/m"
    org, location, service = shop
    _, secret = make_key(org, kind=ApiKey.Kind.BUSINESS)
    slots = day_slots(org, 4)
    assert post_hold(api_client, secret, service, location, slots[0]).status_code == 201
    assert post_hold(api_client, secret, service, location, slots[1], address="192.0.2.20").status_code == 201
    third = post_hold(api_client, secret, service, location, slots[2], address="192.0.2.30")
    assert third.status_code == 429
    assert third.json() == {"detail": "Rate limit exceeded"}
    assert int(third["Retry-After"]) >= 1
    _, other = make_key(org, kind=ApiKey.Kind.BUSINESS)
    assert post_hold(api_client, other, service, location, slots[2]).status_code == 201


def test_session_holds_are_rate_limited_per_client_address(api_client, shop, settings):
    settings.HOLD_ADDRESS_RATE_LIMIT = "2/m"
    org, location, service = shop
    slots = day_slots(org, 4)
    for slot in slots[:2]:
        _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
        assert post_hold(api_client, secret, service, location, slot).status_code == 201
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    assert post_hold(api_client, secret, service, location, slots[2]).status_code == 429
    assert post_hold(api_client, secret, service, location, slots[2], address="192.0.2.77").status_code == 201


def test_one_hold_cannot_take_a_whole_class(api_client):
    """party_size 12 took all 12 places of a class; one booker takes at most the service's max_party_size."""
    org = make_org()
    location = make_location(org)
    yoga = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_max=12, name="Yoga")
    _, secret = make_key(org, kind=ApiKey.Kind.SESSION)
    starts_at = local_dt(org.timezone, future_day(), 10)
    whole = post_hold(api_client, secret, yoga, location, starts_at, party_size=12)
    assert whole.status_code == 422
    assert whole.json() == {"detail": "party_size: one booking may take at most 4 places of Yoga"}
    assert post_hold(api_client, secret, yoga, location, starts_at, party_size=4).status_code == 201
    yoga.max_party_size = 6
    yoga.save()
    assert post_hold(api_client, secret, yoga, location, starts_at, party_size=6).status_code == 201
    too_many = post_hold(api_client, secret, yoga, location, starts_at, party_size=13)
    assert too_many.json() == {"detail": "party_size: 13 exceeds the service capacity of 12"}


def test_holding_a_slot_again_cannot_renew_it_past_the_maximum_lifetime(shop):
    """Holding again as each hold lapses (or after releasing it) keeps the first hold's start:
    30 minutes in all, then 409; after a pause as long as a hold, the slot may be held again."""
    org, location, service = shop
    key, _ = make_key(org, kind=ApiKey.Kind.SESSION)
    starts_at = local_dt(org.timezone, future_day(), 10)
    t0 = timezone.now()

    def hold(at):
        return hold_place(service=service, location=location, starts_at=starts_at, api_key=key, now=at)

    first = hold(t0)
    assert first.expires_at == t0 + timedelta(minutes=10)
    second = hold(t0 + timedelta(minutes=10))  # the first just lapsed
    assert second.expires_at == t0 + timedelta(minutes=20)
    hold_release(hold=second, actor=SYSTEM, now=t0 + timedelta(minutes=15))
    third = hold(t0 + timedelta(minutes=25))  # released, then held again
    assert third.expires_at == t0 + timedelta(minutes=30), "capped at 30 minutes from the first hold"
    with pytest.raises(Conflict, match="held for 30 minutes"):
        hold(t0 + timedelta(minutes=30))
    # Someone else may hold it meanwhile...
    other, _ = make_key(org, kind=ApiKey.Kind.SESSION)
    later = hold_place(
        service=service, location=location, starts_at=starts_at, api_key=other, now=t0 + timedelta(minutes=31)
    )
    assert later.expires_at == t0 + timedelta(minutes=41)
    # ...and the first key again once it has let the slot go for as long as a hold lasts.
    hold_release(hold=later, actor=SYSTEM, now=t0 + timedelta(minutes=32))
    fresh = hold(t0 + timedelta(minutes=41))
    assert fresh.expires_at == t0 + timedelta(minutes=51)


def test_a_public_booking_takes_no_more_places_than_one_booker_may(api_client, demo):
    from tests.api.public.test_public_create import payload, post, slot

    whole = post(api_client, payload(slot(10), service_slug="yoga-class", party_size=12), demo["keys"]["public"])
    assert whole.status_code == 422
    assert whole.json() == {"detail": "party_size: one booking may take at most 4 places of Yoga Class"}
    four = post(api_client, payload(slot(10), service_slug="yoga-class", party_size=4), demo["keys"]["public"])
    assert four.status_code == 201, four.json()
