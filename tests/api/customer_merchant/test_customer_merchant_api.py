"""POST /bookings/customer and POST /bookings/merchant, driven with the contract's own examples."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookings.models import Booking, Participant, RecurringSeries
from bookings.services.actors import SYSTEM
from bookings.services.bookings import booking_create
from organizations.models import ApiKey, Customer, Location, Service, StaffMember
from tests.factories import future_day, make_customer, make_key, make_org, make_service

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)


def next_dst_change(tz: ZoneInfo, after: date) -> date:
    """The first local date from `after` on whose noon has another UTC offset than the day before."""
    day = after
    while (
        datetime.combine(day, time(12), tz).utcoffset()
        == datetime.combine(day - timedelta(days=1), time(12), tz).utcoffset()
    ):
        day += timedelta(days=1)
    return day


@pytest.fixture
def ids(demo):
    return {
        "haircut": demo["services"]["haircut"]["id"],
        "yoga": demo["services"]["yoga-class"]["id"],
        "location": demo["location"]["id"],
        "jane": demo["customers"][0]["uuid"],
        "john": demo["customers"][1]["uuid"],
    }


def post(api_client, path: str, body: dict, secret: str):
    return api_client.post(path, body, format="json", **bearer(secret))


# --- POST /bookings/customer ---------------------------------------------------------------


def test_customer_books_an_appointment_as_in_the_reference(api_client, demo, ids):
    starts_at = local(future_day(weekday=1), 14)  # a Tuesday, 14:00 in New York
    body = {
        "merchant_name": "acme-salon",
        "service_id": ids["haircut"],
        "location_id": ids["location"],
        "timeStamp": z(starts_at),
        "customer_note": "Please use fragrance-free products",
    }
    response = post(api_client, "/bookings/customer", body, demo["keys"]["customer"])
    assert response.status_code == 201
    assert response.content == b""
    booking = Booking.objects.get()
    assert booking.starts_at == starts_at
    assert booking.customer.uuid.hex == ids["jane"].replace("-", "")
    assert booking.customer_note == "Please use fragrance-free products"
    assert booking.source == "customer" and booking.staff is not None

    # Two staff members serve haircuts: the same slot can be booked once more, then it is taken.
    assert post(api_client, "/bookings/customer", body, demo["keys"]["customer"]).status_code == 201
    taken = post(api_client, "/bookings/customer", body, demo["keys"]["customer"])
    assert (taken.status_code, taken.json()) == (409, {"detail": "Time slot is no longer available"})
    assert Booking.objects.count() == 2


def test_customer_joins_a_group_booking_once(api_client, demo, ids):
    yoga = Service.objects.get(id=ids["yoga"])
    location = Location.objects.get(id=ids["location"])
    starts_at = local(future_day(weekday=2), 10)
    session = booking_create(
        service=yoga,
        location=location,
        starts_at=starts_at,
        customer=Customer.objects.get(uuid=ids["john"]),
        actor=SYSTEM,
    )
    body = {
        "merchant_name": "acme-salon",
        "service_id": ids["yoga"],
        "location_id": ids["location"],
        "timeStamp": z(starts_at),
        "booking_id": session.id,
    }
    assert post(api_client, "/bookings/customer", body, demo["keys"]["customer"]).status_code == 201
    assert session.participants.filter(status="active").count() == 2
    twice = post(api_client, "/bookings/customer", body, demo["keys"]["customer"])
    assert twice.status_code == 409
    assert twice.json() == {"detail": "This customer has already joined this session"}


def test_customer_cannot_join_an_appointment(api_client, demo, ids):
    haircut = Service.objects.get(id=ids["haircut"])
    starts_at = local(future_day(weekday=3), 11)
    appointment = booking_create(
        service=haircut,
        location=Location.objects.get(id=ids["location"]),
        starts_at=starts_at,
        customer=Customer.objects.get(uuid=ids["john"]),
        actor=SYSTEM,
    )
    body = {
        "merchant_name": "acme-salon",
        "service_id": ids["haircut"],
        "location_id": ids["location"],
        "timeStamp": z(starts_at),
        "booking_id": appointment.id,
    }
    response = post(api_client, "/bookings/customer", body, demo["keys"]["customer"])
    assert response.status_code == 422
    assert "group" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "status", "detail"),
    [
        ({"merchant_name": "nobody"}, 404, "Merchant not found"),
        ({"service_id": 999999}, 404, "Service not found"),
        ({"location_id": 999999}, 404, "Location not found"),
        ({"booking_id": 999999}, 404, "Booking not found"),
        ({"timeStamp": None}, 400, "timeStamp is required"),
        ({"timeStamp": "2030-01-01T10:00:00"}, 400, "timeStamp: a UTC offset is required (e.g. 2025-12-03T14:00:00Z)"),
        ({"service_id": "abc"}, 400, "service_id: A valid integer is required."),
    ],
)
def test_customer_errors_name_what_is_wrong(api_client, demo, ids, change, status, detail):
    body = {
        "merchant_name": "acme-salon",
        "service_id": ids["haircut"],
        "location_id": ids["location"],
        "timeStamp": z(local(future_day(weekday=1), 14)),
        **change,
    }
    body = {k: v for k, v in body.items() if v is not None}
    response = post(api_client, "/bookings/customer", body, demo["keys"]["customer"])
    assert (response.status_code, response.json()) == (status, {"detail": detail})


def test_customer_endpoint_wants_a_valid_customer_token(api_client, demo, ids):
    body = {"merchant_name": "acme-salon", "service_id": ids["haircut"], "location_id": ids["location"],
            "timeStamp": z(local(future_day(weekday=1), 14))}  # fmt: skip
    assert api_client.post("/bookings/customer", body, format="json").status_code == 401
    assert post(api_client, "/bookings/customer", body, "cal_cus_wrong").status_code == 401
    assert post(api_client, "/bookings/customer", body, demo["keys"]["business"]).status_code == 403
    # A customer of another organization cannot book at acme-salon.
    other = make_org()
    _, stranger = make_key(other, kind=ApiKey.Kind.CUSTOMER, customer=make_customer(other))
    assert post(api_client, "/bookings/customer", body, stranger).status_code == 404


# --- POST /bookings/merchant ---------------------------------------------------------------


def test_merchant_books_an_appointment_as_in_the_reference(api_client, demo, ids):
    starts_at = local(future_day(weekday=1), 14)
    body = {"service_id": ids["haircut"], "timestamp": z(starts_at), "customers": [{"id": ids["jane"]}],
            "is_recurring": False}  # fmt: skip
    response = post(api_client, "/bookings/merchant", body, demo["keys"]["business"])
    assert response.status_code == 201 and response.content == b""
    booking = Booking.objects.get()
    assert (booking.starts_at, str(booking.customer.uuid), booking.source) == (starts_at, ids["jane"], "merchant")


def test_merchant_creates_a_new_customer_with_merchant_note(api_client, demo, ids):
    body = {
        "service_id": ids["haircut"],
        "timestamp": z(local(future_day(weekday=1), 15)),
        "customers": [{"first_name": "Mia", "last_name": "Wong", "email": "MIA@example.com", "phone_number": "+1555"}],
        "merchant_note": "Customer prefers morning appointments",
        "is_recurring": False,
    }
    assert post(api_client, "/bookings/merchant", body, demo["keys"]["business"]).status_code == 201
    booking = Booking.objects.get()
    assert (booking.customer.full_name, booking.customer.email, booking.customer.phone) == (
        "Mia Wong",
        "mia@example.com",
        "+1555",
    )
    assert booking.merchant_note == "Customer prefers morning appointments"


def test_merchant_books_a_group_as_in_the_reference(api_client, demo, ids):
    starts_at = local(future_day(weekday=4), 14)
    body = {
        "service_id": ids["yoga"],
        "timestamp": z(starts_at),
        "customers": [
            {"id": ids["jane"]},
            {"id": ids["john"]},
            {"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com"},
        ],
        "is_recurring": False,
    }
    assert post(api_client, "/bookings/merchant", body, demo["keys"]["business"]).status_code == 201
    session = Booking.objects.get()
    assert session.is_group and session.party_size == 3 and session.status == "confirmed"
    names = sorted(p.customer.full_name for p in session.participants.all())
    assert names == ["Jane Doe", "John Doe", "John Smith"]


def test_group_capacity_is_enforced(api_client, demo, ids):
    org = Location.objects.get(id=ids["location"]).organization
    location = Location.objects.get(id=ids["location"])
    duo = make_service(org, locations=[location], kind=Service.Kind.GROUP, capacity_max=2)
    starts_at = local(future_day(weekday=1), 10)
    three = [{"first_name": name} for name in ("A", "B", "C")]
    body = {"service_id": duo.id, "timestamp": z(starts_at), "customers": three, "is_recurring": False}
    response = post(api_client, "/bookings/merchant", body, demo["keys"]["business"])
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Capacity reached")
    assert not Booking.objects.exists() and not Customer.objects.filter(first_name="A").exists()

    body["customers"] = three[:2]
    assert post(api_client, "/bookings/merchant", body, demo["keys"]["business"]).status_code == 201
    # The session is now full: the customer API gets 409 too.
    join = {"merchant_name": "acme-salon", "service_id": duo.id, "location_id": location.id,
            "timeStamp": z(starts_at), "booking_id": Booking.objects.get().id}  # fmt: skip
    assert post(api_client, "/bookings/customer", join, demo["keys"]["customer"]).status_code == 409


@pytest.mark.parametrize(
    ("change", "status", "detail"),
    [
        ({"customers": [{"first_name": "A"}, {"first_name": "B"}]}, 422, "exactly one customer"),
        ({"customers": [{"id": "550e8400-e29b-41d4-a716-446655440000"}]}, 404, "Customer not found"),
        ({"customers": [{"last_name": "Nofirst"}]}, 400, "customers.0.first_name is required"),
        ({"customers": []}, 400, "customers"),
        ({"service_id": 999999}, 404, "Service not found"),
        ({"is_recurring": None}, 400, "is_recurring is required"),
        ({"is_recurring": True}, 400, "recurrence_rule is required"),
        ({"timestamp": "tomorrow"}, 400, "timestamp"),
    ],
)
def test_merchant_errors_name_what_is_wrong(api_client, demo, ids, change, status, detail):
    body = {"service_id": ids["haircut"], "timestamp": z(local(future_day(weekday=1), 14)),
            "customers": [{"id": ids["jane"]}], "is_recurring": False, **change}  # fmt: skip
    body = {k: v for k, v in body.items() if v is not None}
    response = post(api_client, "/bookings/merchant", body, demo["keys"]["business"])
    assert response.status_code == status
    assert detail in response.json()["detail"]
    assert not Booking.objects.exists()


def test_merchant_endpoint_is_for_business_and_hub_keys_of_that_organization(api_client, demo, ids):
    body = {"service_id": ids["haircut"], "timestamp": z(local(future_day(weekday=1), 14)),
            "customers": [{"id": ids["jane"]}], "is_recurring": False}  # fmt: skip
    assert post(api_client, "/bookings/merchant", body, demo["keys"]["customer"]).status_code == 403
    other = make_org()
    _, foreign = make_key(other)
    assert post(api_client, "/bookings/merchant", body, foreign).status_code == 404
    assert post(api_client, "/bookings/merchant", body, demo["keys"]["hub"]).status_code == 201


# --- Recurring series ----------------------------------------------------------------------


def yoga_series_body(ids, first: datetime, until: datetime) -> dict:
    return {
        "service_id": ids["yoga"],
        "timestamp": z(first),
        "customers": [{"id": ids["jane"]}],
        "merchant_note": "Yoga class - beginner level",
        "is_recurring": True,
        "recurrence_rule": {"frequency": "WEEKLY", "interval": 1, "weekdays": ["MO", "WE", "FR"], "until": z(until)},
    }


def test_recurring_yoga_class_keeps_its_local_time_across_dst(api_client, demo, ids):
    change = next_dst_change(NEW_YORK, future_day(days_ahead=14))
    first_day = change - timedelta(days=14)
    first_day -= timedelta(days=first_day.weekday())  # the Monday on or before
    until_day = change + timedelta(days=14)
    first, until = local(first_day, 14), local(until_day, 14)

    response = post(api_client, "/bookings/merchant", yoga_series_body(ids, first, until), demo["keys"]["business"])
    assert response.status_code == 201, response.content

    series = RecurringSeries.objects.get()
    expected = [
        first_day + timedelta(days=n)
        for n in range((until_day - first_day).days + 1)
        if (first_day + timedelta(days=n)).weekday() in (0, 2, 4)
    ]
    occurrences = list(series.bookings.order_by("starts_at"))
    assert len(occurrences) == len(expected) >= 12
    assert [b.starts_at.astimezone(NEW_YORK).date() for b in occurrences] == expected
    assert {b.starts_at.astimezone(NEW_YORK).time() for b in occurrences} == {time(14)}
    utc_hours = {b.starts_at.astimezone(UTC).hour for b in occurrences}
    assert len(utc_hours) == 2  # the UTC time moves by an hour; the local time does not
    assert series.rrule.startswith("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE,FR;UNTIL=")
    assert series.timezone == "America/New_York"
    assert all(b.is_group and b.merchant_note == "Yoga class - beginner level" for b in occurrences)
    assert Participant.objects.filter(booking__series=series, customer__uuid=ids["jane"]).count() == len(expected)


def test_a_class_below_its_minimum_is_pending_until_enough_join(api_client, demo, ids):
    starts_at = local(future_day(weekday=0), 14)
    body = {"service_id": ids["yoga"], "timestamp": z(starts_at), "customers": [{"first_name": "Solo"}],
            "is_recurring": False}  # fmt: skip
    assert post(api_client, "/bookings/merchant", body, demo["keys"]["business"]).status_code == 201
    session = Booking.objects.get()
    assert session.status == "pending"  # the demo yoga class needs 2 participants

    join = {"merchant_name": "acme-salon", "service_id": ids["yoga"], "location_id": ids["location"],
            "timeStamp": z(starts_at), "booking_id": session.id}  # fmt: skip
    assert post(api_client, "/bookings/customer", join, demo["keys"]["customer"]).status_code == 201
    session.refresh_from_db()
    assert session.status == "confirmed" and session.party_size == 2
    assert session.events.filter(action="status_changed", from_value="pending", to_value="confirmed").exists()


def test_a_conflicting_occurrence_rolls_back_the_whole_series(api_client, demo, ids):
    alex = StaffMember.objects.get(name="Alex")
    haircut = Service.objects.get(id=ids["haircut"])
    location = Location.objects.get(id=ids["location"])
    first_day = future_day(weekday=0)
    taken = local(first_day + timedelta(days=7), 10)
    booking_create(service=haircut, location=location, starts_at=taken, customer=Customer.objects.get(uuid=ids["john"]),
                   actor=SYSTEM, staff=alex)  # fmt: skip
    body = {
        "service_id": ids["haircut"],
        "staff_id": alex.id,
        "timestamp": z(local(first_day, 10)),
        "customers": [{"id": ids["jane"]}],
        "is_recurring": True,
        "recurrence_rule": {
            "frequency": "WEEKLY",
            "interval": 1,
            "until": z(local(first_day + timedelta(days=21), 10)),
        },
    }
    response = post(api_client, "/bookings/merchant", body, demo["keys"]["business"])
    assert response.status_code == 409
    assert z(taken) in response.json()["detail"]
    assert response.json()["conflicts"] == [z(taken)]
    assert Booking.objects.count() == 1 and not RecurringSeries.objects.exists()


def test_a_series_has_at_most_the_configured_number_of_occurrences(api_client, demo, ids, settings):
    settings.SERIES_MAX_OCCURRENCES = 3
    first = local(future_day(weekday=0), 14)
    response = post(
        api_client,
        "/bookings/merchant",
        yoga_series_body(ids, first, first + timedelta(days=14)),
        demo["keys"]["business"],
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "recurrence_rule: a series may have at most 3 occurrences"}
    assert not Booking.objects.exists()


def test_the_series_can_be_cancelled_from_one_occurrence_onward_then_whole(api_client, demo, ids):
    first = local(future_day(weekday=0), 14)
    body = yoga_series_body(ids, first, first + timedelta(days=13))
    assert post(api_client, "/bookings/merchant", body, demo["keys"]["business"]).status_code == 201
    series = RecurringSeries.objects.get()
    occurrences = list(series.bookings.order_by("starts_at"))
    assert len(occurrences) == 6

    secret = demo["keys"]["business"]
    response = api_client.post(
        f"/api/v1/series/{series.uuid}/cancel/",
        {"from_booking": occurrences[3].public_id},
        format="json",
        **bearer(secret),
    )
    assert response.status_code == 200
    statuses = [b.status for b in series.bookings.order_by("starts_at")]
    assert statuses == ["pending"] * 3 + ["cancelled"] * 3  # one customer: below the class minimum of 2
    assert response.json()["cancelled_at"] is None

    response = api_client.post(f"/api/v1/series/{series.uuid}/cancel/", {}, format="json", **bearer(secret))
    assert response.status_code == 200 and response.json()["cancelled_at"]
    assert set(series.bookings.values_list("status", flat=True)) == {"cancelled"}
