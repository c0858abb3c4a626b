"""POST /api/calendar/v1/public/bookings, as the reference documents it (demo organization)."""

import threading
import uuid
from datetime import UTC, date, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.models import Booking, BookingEvent
from bookings.services.holds import hold_place
from organizations.keys import api_key_revoke
from organizations.models import ApiKey, Customer, Organization, Service, StaffMember, Team, WorkingHours
from tests.factories import future_day, local_dt, make_key, make_location, make_org, make_service, make_staff
from tests.stripe_standin import StripeStandIn

URL = "/api/calendar/v1/public/bookings"
REDIS_URL = "redis://127.0.0.1:6379/0"
NY = "America/New_York"


def slot(hour: int, minute: int = 0, *, weekday: int = 2, days_ahead: int = 7):
    """A demo-salon start time (Mon-Sat 09:00-18:00 New York), in UTC `Z` form."""
    return local_dt(NY, future_day(days_ahead=days_ahead, weekday=weekday), hour, minute).astimezone(UTC)


def iso(dt) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload(starts_at, *, minutes: int = 60, **overrides) -> dict:
    """The reference's curl example, at a future slot."""
    body = {
        "org_slug": "acme-salon",
        "service_slug": "haircut",
        "starts_at": iso(starts_at),
        "ends_at": iso(starts_at + timedelta(minutes=minutes)),
        "timezone": NY,
        "contact": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+1234567890"},
        "party_size": 1,
        "notes": "First time customer",
    }
    body.update(overrides)
    return body


def post(api_client, body, key: str | None, **headers):
    if key is not None:
        headers.setdefault("HTTP_X_KORDLESS_KEY", key)
    return api_client.post(URL, body, format="json", **headers)


@pytest.mark.django_db
def test_reference_example_creates_a_confirmed_booking(api_client, demo):
    start = slot(10)
    response = post(api_client, payload(start), demo["keys"]["public"], HTTP_IDEMPOTENCY_KEY="booking-unique-123")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"booking", "calendar_invite"}
    booking = body["booking"]
    assert set(booking) == {
        "id",
        "confirmation_number",
        "status",
        "start_at",
        "end_at",
        "service_name",
        "organization_name",
        "location",
    }
    assert booking["id"].startswith("book_")
    assert booking["confirmation_number"] == booking["id"].upper()
    assert booking["status"] == "confirmed"
    assert booking["start_at"] == iso(start)
    assert booking["end_at"] == iso(start + timedelta(hours=1))
    assert booking["service_name"] == "Haircut"
    assert booking["organization_name"] == "Acme Salon"
    assert booking["location"] == {"type": "onsite", "value": "123 Main St, Suite 100"}
    ics_url = body["calendar_invite"]["ics_url"]
    assert ics_url.startswith(f"/api/calendar/v1/public/bookings/{booking['id']}/invite.ics?token=")
    assert api_client.get(ics_url).status_code == 200

    row = Booking.objects.get(public_id=booking["id"])
    jane = Customer.objects.get(organization__slug="acme-salon", email="jane@example.com")
    assert row.customer == jane  # found by email, not duplicated
    assert Customer.objects.filter(email="jane@example.com").count() == 1
    assert (row.contact_name, row.contact_email, row.contact_phone) == ("Jane Doe", "jane@example.com", "+1234567890")
    assert row.timezone == NY
    assert row.notes == "First time customer"
    assert row.staff is not None  # a free host was assigned
    assert row.created_by_key.kind == ApiKey.Kind.PUBLIC
    assert BookingEvent.objects.filter(booking=row, action="created").exists()


@pytest.mark.django_db
def test_complete_booking_flow_availability_create_lookup(api_client, demo):
    """The reference's 'Complete Booking Flow': availability, pick the first slot, create, look up."""
    key = demo["keys"]["public"]
    day = future_day(weekday=3)
    slots = api_client.get(
        "/api/calendar/v1/public/availability",
        {
            "org_slug": "acme-salon",
            "service_slug": "haircut",
            "from": f"{day}T00:00:00Z",
            "to": f"{day}T23:59:59Z",
        },
        HTTP_X_KORDLESS_KEY=key,
    ).json()["slots"]
    assert slots
    chosen = slots[0]
    body = {**payload(slot(10)), "starts_at": chosen["startsAt"], "ends_at": chosen["endsAt"]}
    created = post(api_client, body, key)
    assert created.status_code == 201, created.json()
    booking = created.json()["booking"]
    assert booking["start_at"] == chosen["startsAt"]

    looked_up = api_client.get(
        f"/api/calendar/v1/public/bookings/confirmation/{booking['confirmation_number']}",
        {"contact": "jane@example.com"},
    )
    assert looked_up.status_code == 200
    assert looked_up.json()["booking"]["id"] == booking["id"]


@pytest.mark.django_db
def test_x_api_key_header_and_business_key_also_work(api_client, demo):
    response = post(api_client, payload(slot(11)), None, HTTP_X_API_KEY=demo["keys"]["business"])
    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_new_email_creates_a_customer_and_email_case_does_not_matter(api_client, demo):
    key = demo["keys"]["public"]
    contact = {"name": "Mary Ann Lee", "email": "Mary.Lee@Example.com", "phone": ""}
    first = post(api_client, payload(slot(9), contact=contact), key)
    assert first.status_code == 201, first.json()
    customer = Customer.objects.get(email="mary.lee@example.com")
    assert (customer.first_name, customer.last_name) == ("Mary", "Ann Lee")
    contact["email"] = " MARY.LEE@example.COM "
    second = post(api_client, payload(slot(12), contact=contact), key)
    assert second.status_code == 201, second.json()
    assert Customer.objects.filter(email="mary.lee@example.com").count() == 1
    assert Booking.objects.filter(customer=customer).count() == 2


@pytest.mark.django_db
def test_host_id_books_that_staff_member(api_client, demo):
    sam = demo["staff"][1]
    response = post(api_client, payload(slot(13), host_id=sam["uuid"]), demo["keys"]["public"])
    assert response.status_code == 201, response.json()
    assert Booking.objects.get(public_id=response.json()["booking"]["id"]).staff_id == sam["id"]


@pytest.mark.django_db
def test_group_service_participants_join_one_session(api_client, demo):
    key = demo["keys"]["public"]
    start = slot(10, weekday=4)
    first = post(api_client, payload(start, service_slug="yoga-class", party_size=2), key)
    other = {"name": "John Smith", "email": "john@example.com", "phone": "+15551234567"}
    second = post(api_client, payload(start, service_slug="yoga-class", contact=other), key)
    assert first.status_code == second.status_code == 201, (first.json(), second.json())
    session = Booking.objects.get(public_id=first.json()["booking"]["id"])
    assert session.is_group and session.participants.count() == 2
    assert session.party_size == 3


@pytest.mark.django_db
def test_a_class_below_its_minimum_opens_pending_and_the_place_that_completes_it_confirms_it(api_client, demo):
    """As through the customer and merchant APIs: the demo's yoga class needs 2 places."""
    key = demo["keys"]["public"]
    start = slot(10, weekday=4)
    first = post(api_client, payload(start, service_slug="yoga-class"), key)
    assert (first.status_code, first.json()["booking"]["status"]) == (201, "pending")
    other = {"name": "John Smith", "email": "john@example.com", "phone": "+15551234567"}
    second = post(api_client, payload(start, service_slug="yoga-class", contact=other), key)
    assert (second.status_code, second.json()["booking"]["status"]) == (201, "confirmed")
    assert Booking.objects.get(public_id=first.json()["booking"]["id"]).status == "confirmed"


# --- 400: the request itself is wrong --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, detail",
    [
        (lambda b: b["contact"].pop("email"), "contact.email is required"),
        (lambda b: b.pop("contact"), "contact is required"),
        (lambda b: b.pop("org_slug"), "org_slug is required"),
        (lambda b: b.pop("service_slug"), "service_slug is required"),
        (lambda b: b.pop("starts_at"), "starts_at is required"),
        (lambda b: b.pop("ends_at"), "ends_at is required"),
        (lambda b: b.pop("timezone"), "timezone is required"),
        (lambda b: b["contact"].update(name="   "), "contact.name may not be blank"),
        (lambda b: b["contact"].update(email="not-an-email"), "contact.email: Enter a valid email address."),
        (lambda b: b["contact"].update(phone="call me maybe"), "contact.phone: not a valid phone number"),
        (lambda b: b.update(timezone="Mars/Olympus"), "timezone: 'Mars/Olympus' is not a valid IANA time zone"),
        # A folder of the zone database, and files in it that are no zone: not zones either.
        (lambda b: b.update(timezone="America"), "timezone: 'America' is not a valid IANA time zone"),
        (lambda b: b.update(timezone="localtime"), "timezone: 'localtime' is not a valid IANA time zone"),
        (lambda b: b.update(timezone="zone.tab"), "timezone: 'zone.tab' is not a valid IANA time zone"),
        (lambda b: b.update(party_size=0), "party_size: Ensure this value is greater than or equal to 1."),
        (lambda b: b.update(party_size="two"), "party_size: A valid integer is required."),
        (lambda b: b.update(party_size="2"), "party_size: A valid integer is required."),
        (lambda b: b.update(party_size=1.5), "party_size: A valid integer is required."),
        (lambda b: b.update(party_size=True), "party_size: A valid integer is required."),
        (lambda b: b.update(party_size=2**31), "party_size: Ensure this value is less than or equal to"),
        (lambda b: b["contact"].update(phone="١٢٣٤٥٦"), "contact.phone: not a valid"),
        (lambda b: b.update(notes="x" * 1001), "notes: Ensure this field has no more than 1000 characters."),
        (lambda b: b.update(starts_at="2030-12-03T14:00:00"), "starts_at: a UTC offset is required"),
        (lambda b: b.update(ends_at="tomorrow"), "ends_at: not an ISO 8601 date-time"),
    ],
)
def test_invalid_body_is_400_naming_the_field(api_client, demo, change, detail):
    body = payload(slot(10))
    change(body)
    response = post(api_client, body, demo["keys"]["public"])
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail), response.json()
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_null_in_an_optional_field_means_absent(api_client, demo):
    """A JavaScript client sends `null` for what the user left empty: that is not a missing field."""
    body = payload(slot(10), party_size=None, notes=None, host_id=None, team_id=None)
    body["contact"] = {"name": "New Client", "email": "new.client@example.com", "phone": None}
    response = post(api_client, body, demo["keys"]["public"])
    assert response.status_code == 201, response.json()
    booking = Booking.objects.get(public_id=response.json()["booking"]["id"])
    assert (booking.party_size, booking.notes, booking.contact_phone) == (1, "", "")


@pytest.mark.django_db
def test_malformed_json_is_400(api_client, demo):
    response = api_client.post(
        URL, data="{not json", content_type="application/json", HTTP_X_KORDLESS_KEY=demo["keys"]["public"]
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


# --- 401: no usable key ------------------------------------------------------------------------


@pytest.mark.django_db
def test_missing_key_is_401_with_the_documented_message(api_client, demo):
    response = post(api_client, payload(slot(10)), None)
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing x-kordless-key header"}


@pytest.mark.django_db
def test_unknown_revoked_and_expired_keys_are_401(api_client, demo):
    org = Organization.objects.get(slug="acme-salon")
    revoked, revoked_secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    api_key_revoke(api_key=revoked)
    expired, expired_secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    for secret, detail in [
        ("cal_pub_nope", "Invalid API key"),
        (revoked_secret, "API key has been revoked"),
        (expired_secret, "API key has expired"),
    ]:
        response = post(api_client, payload(slot(10)), secret)
        assert response.status_code == 401
        assert response.json() == {"detail": detail}


# --- 404: organization or service --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["session", "customer"])
def test_a_key_of_a_kind_the_public_api_does_not_take_is_401(api_client, demo, kind):
    """The contract's answer to a key it cannot use is its 401, as for a wrong key (it has no 403)."""
    response = post(api_client, payload(slot(10)), demo["keys"][kind])
    assert response.status_code == 401
    assert response.json() == {"detail": f"Invalid API key: a {kind} key cannot be used with the public booking API"}
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_hub_key_of_the_organization_books(api_client, demo):
    assert post(api_client, payload(slot(10)), demo["keys"]["hub"]).status_code == 201


@pytest.mark.django_db
def test_unknown_organization_and_service_are_404(api_client, demo):
    key = demo["keys"]["public"]
    response = post(api_client, payload(slot(10), org_slug="no-such-salon"), key)
    assert (response.status_code, response.json()) == (404, {"detail": "Organization not found"})
    response = post(api_client, payload(slot(10), service_slug="massage"), key)
    assert (response.status_code, response.json()) == (404, {"detail": "Service not found"})


@pytest.mark.django_db
def test_key_of_another_organization_gets_404_organization_not_found(api_client, demo):
    _, other_secret = make_key(make_org(), kind=ApiKey.Kind.PUBLIC)
    response = post(api_client, payload(slot(10)), other_secret)
    assert (response.status_code, response.json()) == (404, {"detail": "Organization not found"})
    assert not Booking.objects.exists()


# --- 409: taken ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_taken_slot_is_409(api_client, demo):
    key = demo["keys"]["public"]
    start = slot(14)
    for n in range(2):  # both hosts
        contact = {"name": f"Guest {n}", "email": f"guest{n}@example.com"}
        assert post(api_client, payload(start, contact=contact), key).status_code == 201
    response = post(api_client, payload(start), key)
    assert (response.status_code, response.json()) == (409, {"detail": "Time slot is no longer available"})
    assert Booking.objects.filter(starts_at=start).count() == 2


@pytest.mark.django_db
def test_taken_host_is_409(api_client, demo):
    key = demo["keys"]["public"]
    alex = demo["staff"][0]["uuid"]
    start = slot(15)
    assert post(api_client, payload(start, host_id=alex), key).status_code == 201
    other = {"name": "John Smith", "email": "john@example.com"}
    response = post(api_client, payload(start, host_id=alex, contact=other), key)
    assert (response.status_code, response.json()) == (409, {"detail": "Time slot is no longer available"})


# --- 422: business rules -------------------------------------------------------------------------


@pytest.mark.django_db
def test_slot_held_by_another_client_is_409(api_client, demo):
    """Both barbers' 10:00 is held through the holds API: the public create must not take it."""
    service = Service.objects.get(slug="haircut")
    start = slot(10)
    for _ in demo["staff"]:
        hold_place(service=service, location=service.locations.get(), starts_at=start)
    response = post(api_client, payload(start), demo["keys"]["public"])
    assert response.status_code == 409
    assert response.json() == {"detail": "Time slot is no longer available"}
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_team_id_books_a_member_of_that_team(api_client, demo):
    org = Organization.objects.get(slug="acme-salon")
    sam = StaffMember.objects.get(pk=demo["staff"][1]["id"])
    team = Team.objects.create(organization=org, name="Colour team")
    team.members.set([sam])
    response = post(api_client, payload(slot(10), team_id=str(team.uuid)), demo["keys"]["public"])
    assert response.status_code == 201, response.json()
    booking = Booking.objects.get(public_id=response.json()["booking"]["id"])
    assert (booking.staff_id, booking.team_id) == (sam.pk, team.pk)
    # The team's only member is now busy at 10:00, though the salon's other barber is not.
    again = post(api_client, payload(slot(10), team_id=str(team.uuid)), demo["keys"]["public"])
    assert again.status_code in (409, 422), again.json()
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_team_that_cannot_serve_or_of_another_organization_is_422(api_client, demo):
    org = Organization.objects.get(slug="acme-salon")
    outsiders = Team.objects.create(organization=org, name="Reception")
    outsiders.members.set([make_staff(org, name="Receptionist")])
    response = post(api_client, payload(slot(10), team_id=str(outsiders.uuid)), demo["keys"]["public"])
    assert response.status_code == 422
    assert response.json() == {"detail": "team_id: cannot serve this service"}

    elsewhere = Team.objects.create(organization=make_org(), name="Their team")
    response = post(api_client, payload(slot(10), team_id=str(elsewhere.uuid)), demo["keys"]["public"])
    assert response.status_code == 422
    assert response.json() == {"detail": "Team not found: no such host, team or location in this organization"}
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_outside_service_hours_and_off_grid_are_422(api_client, demo):
    key = demo["keys"]["public"]
    for start in (slot(7), slot(10, 15), slot(10, weekday=6)):  # early, off the 30-min grid, Sunday
        response = post(api_client, payload(start), key)
        assert (response.status_code, response.json()) == (422, {"detail": "Booking is outside service hours"})


@pytest.mark.django_db
def test_wrong_duration_is_422(api_client, demo):
    response = post(api_client, payload(slot(10), minutes=30), demo["keys"]["public"])
    assert response.status_code == 422
    assert response.json()["detail"] == "ends_at must be starts_at plus the service duration (60 minutes)"


@pytest.mark.django_db
def test_too_soon_and_too_far_ahead_are_422(api_client, demo):
    key = demo["keys"]["public"]
    Organization.objects.filter(slug="acme-salon").update(min_notice_minutes=60 * 24 * 3, max_advance_days=30)
    # Tomorrow (Monday if tomorrow is the salon's closed Sunday): under the three days' notice whatever
    # today is (the first Wednesday from tomorrow, as slot() picks, is up to a week away).
    tomorrow = date.today() + timedelta(days=1)
    soon_day = tomorrow + timedelta(days=1 if tomorrow.weekday() == 6 else 0)
    soon = post(api_client, payload(local_dt(NY, soon_day, 10).astimezone(UTC)), key)
    assert soon.status_code == 422
    assert soon.json()["detail"].startswith("Booking is too soon")
    far = post(api_client, payload(slot(10, days_ahead=60)), key)
    assert far.status_code == 422
    assert far.json()["detail"].startswith("Booking is too far ahead")


@pytest.mark.django_db
def test_party_size_over_capacity_is_422(api_client, demo):
    response = post(api_client, payload(slot(10), service_slug="yoga-class", party_size=13), demo["keys"]["public"])
    assert response.status_code == 422
    assert response.json()["detail"] == "party_size: 13 exceeds the service capacity of 12"


@pytest.mark.django_db
def test_party_size_beyond_any_service_is_422_by_capacity_not_400(api_client, demo):
    response = post(api_client, payload(slot(10), service_slug="yoga-class", party_size=5000), demo["keys"]["public"])
    assert response.status_code == 422
    assert response.json()["detail"] == "party_size: 5000 exceeds the service capacity of 12"


@pytest.mark.django_db
def test_host_that_cannot_serve_is_422(api_client, demo):
    org = Organization.objects.get(slug="acme-salon")
    outsider = make_staff(org, name="Not a barber")
    response = post(api_client, payload(slot(10), host_id=str(outsider.uuid)), demo["keys"]["public"])
    assert response.status_code == 422
    assert response.json()["detail"] == "host_id: cannot serve this service"
    unknown = post(
        api_client, payload(slot(10), host_id="00000000-0000-0000-0000-000000000000"), demo["keys"]["public"]
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("Staff member not found")


@pytest.mark.django_db
def test_host_busy_elsewhere_is_422_not_available(api_client, demo):
    org = Organization.objects.get(slug="acme-salon")
    alex = StaffMember.objects.get(pk=demo["staff"][0]["id"])
    # Alex does not work Saturdays any more: he cannot serve that slot though the salon is open.
    WorkingHours.objects.filter(organization=org, staff=alex, weekday=5).delete()
    response = post(api_client, payload(slot(10, weekday=5), host_id=str(alex.uuid)), demo["keys"]["public"])
    assert response.status_code == 422
    assert response.json()["detail"] == "host_id: not available at this time"


@pytest.mark.django_db
def test_deposit_service_without_stripe_is_422(api_client, demo, settings):
    settings.STRIPE_SECRET_KEY = ""
    body = payload(slot(10), service_slug="color-treatment", minutes=90)
    response = post(api_client, body, demo["keys"]["public"])
    assert response.status_code == 422
    assert response.json() == {"detail": "This service requires a deposit and online payment is not configured"}
    assert not Booking.objects.exists()


@pytest.fixture
def stripe_standin(settings):
    with StripeStandIn() as standin:
        settings.STRIPE_SECRET_KEY = "sk_test_standin"
        settings.STRIPE_API_BASE = standin.url
        yield standin


@pytest.mark.django_db
def test_deposit_service_with_stripe_is_pending_with_a_checkout_session(
    api_client, demo, stripe_standin, mailoutbox, django_capture_on_commit_callbacks
):
    body = payload(slot(10), service_slug="color-treatment", minutes=90)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client, body, demo["keys"]["public"])
    assert response.status_code == 201, response.json()
    created = response.json()["booking"]
    assert created["status"] == "pending"
    booking = Booking.objects.get()
    assert booking.payment_status == Booking.PaymentStatus.REQUIRED
    assert booking.deposit_minor == Service.objects.get(slug="color-treatment").deposit_minor
    assert booking.stripe_checkout_session_id in stripe_standin.sessions
    assert created["redirect_url"] == booking.payment_redirect_url != ""
    assert mailoutbox == []  # confirmed (and mailed) only once paid


@pytest.mark.django_db
def test_deposit_service_when_stripe_fails_books_nothing(api_client, demo, settings):
    with StripeStandIn(fail_with=500) as standin:
        settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = "sk_test_standin", standin.url
        response = post(
            api_client, payload(slot(10), service_slug="color-treatment", minutes=90), demo["keys"]["public"]
        )
    assert response.status_code == 502
    assert not Booking.objects.exists()


# --- 429: rate limit ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_eleventh_booking_in_a_minute_is_429_with_retry_after(api_client, demo, settings):
    settings.BOOKING_RATE_LIMIT = "10/m"
    key = demo["keys"]["public"]
    day_slots = [slot(9 + n // 2, 30 * (n % 2)) for n in range(11)]
    for start in day_slots[:10]:
        assert post(api_client, payload(start), key).status_code == 201
    response = post(api_client, payload(day_slots[10]), key)
    assert response.status_code == 429
    assert response.json() == {"detail": "Rate limit exceeded"}
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Booking.objects.count() == 10
    # The limit is per API key: another key of the organization still books.
    assert post(api_client, payload(day_slots[10]), demo["keys"]["business"]).status_code == 201


@pytest.mark.django_db
def test_with_redis_the_rate_limit_counter_lives_in_redis(api_client, demo, settings):
    """As in production (REDIS_URL): the counter every gunicorn worker shares is Redis's, not a
    process's. Deleting it from Redis, and only that, lets the key book again."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-ratelimit-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {"BACKEND": "config.redis_cache.ReusedClientRedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}
    }
    settings.BOOKING_RATE_LIMIT = "2/m"
    settings.AVAILABILITY_CACHE_SECONDS = settings.CATALOG_CACHE_SECONDS = 0
    key = demo["keys"]["public"]
    try:
        assert [post(api_client, payload(slot(h)), key).status_code for h in (9, 10, 11)] == [201, 201, 429]
        counters = client.keys(f"{prefix}:*")
        assert counters, "the counter is not in Redis"
        client.delete(*counters)
        assert post(api_client, payload(slot(11)), key).status_code == 201
    finally:
        if keys := client.keys(f"{prefix}:*"):
            client.delete(*keys)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_for_one_host_slot_one_wins(demo):
    """Eight clients race for Alex at one time: one 201, seven 409, one booking row."""
    start, alex = slot(10), demo["staff"][0]["uuid"]
    barrier = threading.Barrier(8)
    statuses = []

    def worker(n: int):
        try:
            contact = {"name": f"Racer {n}", "email": f"racer{n}@example.com"}
            client = APIClient()
            barrier.wait()
            statuses.append(
                post(client, payload(start, host_id=alex, contact=contact), demo["keys"]["public"]).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] + [409] * 7
    assert Booking.objects.filter(starts_at=start).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "1900-01-01T00:00:00Z"])
def test_dates_out_of_range_are_400_not_500(api_client, demo, value):
    response = post(api_client, {**payload(slot(10)), "starts_at": value}, demo["keys"]["public"])
    assert response.status_code == 400
    assert response.json()["detail"] == "starts_at: must be between the years 1970 and 9000"


@pytest.mark.django_db
def test_service_at_two_locations_books_where_the_slot_is_free(api_client):
    org = make_org(slug="two-rooms", name="Two Rooms")
    closed = make_location(org, name="Closed Mondays", days=range(1, 7))
    open_all_week = make_location(org, name="Open daily")
    service = make_service(org, slug="massage", name="Massage", locations=[closed, open_all_week])
    _, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    monday = slot(10, weekday=0)
    response = post(api_client, payload(monday, org_slug="two-rooms", service_slug="massage"), secret)
    assert response.status_code == 201, response.json()
    assert Booking.objects.get().location == open_all_week
    # An explicit location_id is honoured (and a closed one is refused with the reason).
    explicit = payload(monday, org_slug="two-rooms", service_slug=service.slug, location_id=str(closed.uuid))
    refused = post(api_client, {**explicit, "contact": {"name": "B", "email": "b@example.com"}}, secret)
    assert (refused.status_code, refused.json()) == (422, {"detail": "Booking is outside service hours"})
