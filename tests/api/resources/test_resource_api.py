"""The resource API: merchants manage what they own under /api/v1/, and nothing of anyone else's."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from bookings.models import Participant, RecurringSeries
from holds.models import Hold
from organizations.models import ApiKey, Location, Service, TimeOff, WorkingHours
from tests.factories import make_booking, make_customer, make_key, make_location, make_org, make_service, make_staff

pytestmark = pytest.mark.django_db


def auth(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def tenant_a():
    """Organization A with one of everything the resource API shows."""
    org = make_org(slug="alpha")
    location = make_location(org)
    staff = make_staff(org)
    TimeOff.objects.create(
        organization=org,
        staff=staff,
        starts_at=datetime(2030, 1, 1, 12, tzinfo=UTC),
        ends_at=datetime(2030, 1, 2, 12, tzinfo=UTC),
        reason="Holiday",
    )
    team = staff.teams.create(organization=org, name="Colorists")
    service = make_service(org, locations=[location], staff=[staff])
    group = make_service(org, locations=[location], kind=Service.Kind.GROUP)
    customer = make_customer(org)
    starts = timezone.now().replace(microsecond=0) + timedelta(days=3)
    series = RecurringSeries.objects.create(
        organization=org,
        service=group,
        location=location,
        rrule="FREQ=WEEKLY;INTERVAL=1",
        timezone="America/New_York",
        dtstart_local=starts,
    )
    session = make_booking(group, location, starts, customer=customer, is_group=True, series=series)
    participant = Participant.objects.create(booking=session, customer=customer)
    hold = Hold.objects.create(
        organization=org,
        service=service,
        location=location,
        staff=staff,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        blocked_start=starts,
        blocked_end=starts + timedelta(hours=1),
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    key, secret = make_key(org)
    other_key, _ = make_key(org, kind=ApiKey.Kind.PUBLIC)
    return {
        "org": org,
        "secret": secret,
        "organizations": org,
        "locations": location,
        "services": service,
        "staff": staff,
        "working-hours": WorkingHours.objects.filter(staff=staff).first(),
        "time-off": TimeOff.objects.get(staff=staff),
        "teams": team,
        "customers": customer,
        "participants": participant,
        "series": series,
        "holds": hold,
        "api-keys": other_key,
    }


@pytest.fixture
def tenant_b():
    org = make_org(slug="beta")
    _, secret = make_key(org)
    return {"org": org, "secret": secret}


RESOURCES = [
    "organizations",
    "locations",
    "services",
    "staff",
    "working-hours",
    "time-off",
    "teams",
    "customers",
    "participants",
    "series",
    "holds",
    "api-keys",
]
WRITABLE = ["organizations", "locations", "services", "staff", "working-hours", "time-off", "teams", "customers"]
ACTIONS = [("participants", "leave"), ("series", "cancel"), ("holds", "release"), ("api-keys", "revoke")]
DELETABLE = ["locations", "services", "staff", "working-hours", "time-off", "teams", "customers"]


@pytest.mark.parametrize("resource", RESOURCES)
def test_each_resource_is_readable_by_its_owner(api_client, tenant_a, resource):
    obj = tenant_a[resource]
    response = api_client.get(f"/api/v1/{resource}/{obj.uuid}/", **auth(tenant_a["secret"]))
    assert response.status_code == 200, response.json()
    assert response.json()["uuid"] == str(obj.uuid)
    listed = api_client.get(f"/api/v1/{resource}/", **auth(tenant_a["secret"])).json()
    assert str(obj.uuid) in {row["uuid"] for row in listed["results"]}


@pytest.mark.parametrize("resource", RESOURCES)
def test_another_tenant_gets_404_and_an_empty_list(api_client, tenant_a, tenant_b, resource):
    obj = tenant_a[resource]
    response = api_client.get(f"/api/v1/{resource}/{obj.uuid}/", **auth(tenant_b["secret"]))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."} or "detail" in response.json()
    listed = api_client.get(f"/api/v1/{resource}/", **auth(tenant_b["secret"])).json()
    assert str(obj.uuid) not in {row["uuid"] for row in listed["results"]}


@pytest.mark.parametrize("resource", WRITABLE)
def test_another_tenant_cannot_change(api_client, tenant_a, tenant_b, resource):
    obj = tenant_a[resource]
    response = api_client.patch(f"/api/v1/{resource}/{obj.uuid}/", {}, **auth(tenant_b["secret"]))
    assert response.status_code == 404


@pytest.mark.parametrize("resource", DELETABLE)
def test_another_tenant_cannot_delete(api_client, tenant_a, tenant_b, resource):
    obj = tenant_a[resource]
    response = api_client.delete(f"/api/v1/{resource}/{obj.uuid}/", **auth(tenant_b["secret"]))
    assert response.status_code == 404
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize(("resource", "verb"), ACTIONS)
def test_another_tenant_cannot_act(api_client, tenant_a, tenant_b, resource, verb):
    obj = tenant_a[resource]
    response = api_client.post(f"/api/v1/{resource}/{obj.uuid}/{verb}/", {}, **auth(tenant_b["secret"]))
    assert response.status_code == 404


def test_another_tenants_objects_cannot_be_referenced(api_client, tenant_a, tenant_b):
    response = api_client.post(
        "/api/v1/services/",
        {"slug": "x", "name": "X", "duration_minutes": 30, "locations": [str(tenant_a["locations"].uuid)]},
        **auth(tenant_b["secret"]),
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("locations")


def test_keys_other_than_business_and_hub_are_refused(api_client, tenant_a):
    org = tenant_a["org"]
    for kind in (ApiKey.Kind.PUBLIC, ApiKey.Kind.SESSION):
        _, secret = make_key(org, kind=kind)
        response = api_client.get("/api/v1/locations/", **auth(secret))
        assert response.status_code == 403
    assert api_client.get("/api/v1/locations/").status_code == 401
    assert api_client.get("/api/v1/locations/", **auth("cal_biz_nope")).status_code == 401


def test_a_hub_key_sees_each_of_its_organizations_and_names_one_when_creating(api_client, tenant_a, tenant_b):
    _, hub = make_key(tenant_a["org"], tenant_b["org"], kind=ApiKey.Kind.HUB)
    listed = api_client.get("/api/v1/organizations/", **auth(hub)).json()
    assert {row["slug"] for row in listed["results"]} == {"alpha", "beta"}

    response = api_client.post("/api/v1/locations/", {"name": "Annex"}, **auth(hub))
    assert response.status_code == 400
    assert response.json()["detail"] == "organization is required"

    body = {"name": "Annex", "organization": str(tenant_b["org"].uuid)}
    response = api_client.post("/api/v1/locations/", body, **auth(hub))
    assert response.status_code == 201
    assert Location.objects.get(uuid=response.json()["uuid"]).organization == tenant_b["org"]


def test_organization_policy_can_be_changed_but_not_its_identity(api_client, tenant_a):
    org = tenant_a["org"]
    response = api_client.patch(
        f"/api/v1/organizations/{org.uuid}/",
        {"min_notice_minutes": 30, "hold_minutes": 15, "slug": "stolen", "name": "Renamed"},
        **auth(tenant_a["secret"]),
    )
    assert response.status_code == 200
    org.refresh_from_db()
    assert (org.min_notice_minutes, org.hold_minutes, org.slug, org.name) == (30, 15, "alpha", org.name)
    response = api_client.patch(f"/api/v1/organizations/{org.uuid}/", {"hold_minutes": 0}, **auth(tenant_a["secret"]))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("hold_minutes")


def test_services_are_created_with_their_locations_and_staff_and_checked(api_client, tenant_a):
    secret = tenant_a["secret"]
    body = {
        "slug": "massage",
        "name": "Massage",
        "duration_minutes": 45,
        "locations": [str(tenant_a["locations"].uuid)],
        "staff": [str(tenant_a["staff"].uuid)],
        "custom_fields": [{"key": "allergies", "type": "string"}],
    }
    response = api_client.post("/api/v1/services/", body, **auth(secret))
    assert response.status_code == 201, response.json()
    service = Service.objects.get(uuid=response.json()["uuid"])
    assert list(service.locations.all()) == [tenant_a["locations"]]
    assert service.custom_fields == [{"key": "allergies", "type": "string", "required": False}]

    assert api_client.post("/api/v1/services/", body, **auth(secret)).json() == {
        "detail": "slug: a service with this slug already exists."
    }
    response = api_client.post("/api/v1/services/", {**body, "slug": "two", "capacity_max": 3}, **auth(secret))
    assert response.status_code == 400
    assert response.json()["detail"] == "capacity_max: An appointment takes exactly one booking at a time."


def test_staff_show_their_working_hours_and_time_off(api_client, tenant_a):
    staff = tenant_a["staff"]
    body = api_client.get(f"/api/v1/staff/{staff.uuid}/", **auth(tenant_a["secret"])).json()
    assert len(body["working_hours"]) == 7
    assert body["working_hours"][0]["start_time"] == "09:00:00"
    assert body["time_off"][0]["reason"] == "Holiday"


def test_time_off_is_added_for_one_owner_with_an_offset(api_client, tenant_a):
    secret = tenant_a["secret"]
    staff = tenant_a["staff"]
    body = {"staff": str(staff.uuid), "starts_at": "2030-02-01T09:00:00-05:00", "ends_at": "2030-02-01T17:00:00-05:00"}
    response = api_client.post("/api/v1/time-off/", body, **auth(secret))
    assert response.status_code == 201, response.json()
    assert TimeOff.objects.get(uuid=response.json()["uuid"]).starts_at == datetime(2030, 2, 1, 14, tzinfo=UTC)

    naive = {**body, "starts_at": "2030-02-01T09:00:00"}
    response = api_client.post("/api/v1/time-off/", naive, **auth(secret))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("starts_at: a UTC offset is required")

    both = {**body, "location": str(tenant_a["locations"].uuid)}
    assert api_client.post("/api/v1/time-off/", both, **auth(secret)).status_code == 400

    hours = {"location": str(tenant_a["locations"].uuid), "weekday": 6, "start_time": "10:00", "end_time": "09:00"}
    response = api_client.post("/api/v1/working-hours/", hours, **auth(secret))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("end_time")


def test_teams_group_staff_of_the_same_organization(api_client, tenant_a):
    staff = tenant_a["staff"]
    response = api_client.post(
        "/api/v1/teams/", {"name": "Stylists", "members": [str(staff.uuid)]}, **auth(tenant_a["secret"])
    )
    assert response.status_code == 201
    assert response.json()["members"] == [str(staff.uuid)]


def test_something_bookings_point_at_cannot_be_deleted(api_client, tenant_a):
    response = api_client.delete(f"/api/v1/locations/{tenant_a['locations'].uuid}/", **auth(tenant_a["secret"]))
    assert response.status_code == 409
    assert "cannot be deleted" in response.json()["detail"]
    spare = make_location(tenant_a["org"], hours=None)
    response = api_client.delete(f"/api/v1/locations/{spare.uuid}/", **auth(tenant_a["secret"]))
    assert response.status_code == 204


def test_customers_filter_order_and_paginate(api_client, tenant_a):
    org = tenant_a["org"]
    for first in ("Bea", "Cal", "Dee", "Eve"):
        make_customer(org, first_name=first, email=f"{first.lower()}@example.com")
    make_customer(make_org(), first_name="Zed", email="bea@example.com")
    secret = tenant_a["secret"]

    page = api_client.get("/api/v1/customers/?limit=2&ordering=-first_name", **auth(secret)).json()
    assert page["count"] == 5  # the four and the fixture's customer, not the other tenant's
    assert [row["first_name"] for row in page["results"]] == ["Eve", "Dee"]
    assert "offset=2" in page["next"]
    second = api_client.get(page["next"], **auth(secret)).json()
    assert [row["first_name"] for row in second["results"]] == [tenant_a["customers"].first_name, "Cal"]

    huge = api_client.get(f"/api/v1/customers/?limit={10**30}&offset={10**30}", **auth(secret))
    assert (huge.status_code, huge.json()["results"]) == (200, [])

    found = api_client.get("/api/v1/customers/?email=BEA@example.com", **auth(secret)).json()
    assert [row["first_name"] for row in found["results"]] == ["Bea"]
    found = api_client.get("/api/v1/customers/?name=ve", **auth(secret)).json()
    assert [row["first_name"] for row in found["results"]] == ["Eve"]


def test_filters_by_related_uuid(api_client, tenant_a):
    secret = tenant_a["secret"]
    staff = tenant_a["staff"]
    rows = api_client.get(f"/api/v1/working-hours/?staff={staff.uuid}", **auth(secret)).json()["results"]
    assert len(rows) == 7 and {row["staff"] for row in rows} == {str(staff.uuid)}
    rows = api_client.get(f"/api/v1/services/?staff={staff.uuid}", **auth(secret)).json()["results"]
    assert [row["uuid"] for row in rows] == [str(tenant_a["services"].uuid)]
    rows = api_client.get("/api/v1/holds/?status=active", **auth(secret)).json()["results"]
    assert [row["uuid"] for row in rows] == [str(tenant_a["holds"].uuid)]
    assert api_client.get("/api/v1/holds/?status=expired", **auth(secret)).json()["count"] == 0
    response = api_client.get("/api/v1/holds/?service=not-a-uuid", **auth(secret))
    assert response.status_code == 400


def test_api_key_secret_is_shown_once_and_revocation_takes_effect(api_client, tenant_a):
    secret = tenant_a["secret"]
    response = api_client.post("/api/v1/api-keys/", {"kind": "business", "name": "till"}, **auth(secret))
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["secret"].startswith("cal_biz_")
    assert created["organizations"] == [str(tenant_a["org"].uuid)]

    shown = api_client.get(f"/api/v1/api-keys/{created['uuid']}/", **auth(secret)).json()
    assert "secret" not in shown
    assert api_client.get("/api/v1/locations/", **auth(created["secret"])).status_code == 200

    response = api_client.post(f"/api/v1/api-keys/{created['uuid']}/revoke/", **auth(secret))
    assert response.status_code == 200 and response.json()["revoked_at"]
    assert api_client.get("/api/v1/locations/", **auth(created["secret"])).status_code == 401


def test_api_keys_cannot_reach_beyond_the_callers_organizations(api_client, tenant_a, tenant_b):
    secret = tenant_a["secret"]
    body = {"kind": "hub", "organizations": [str(tenant_a["org"].uuid), str(tenant_b["org"].uuid)]}
    response = api_client.post("/api/v1/api-keys/", body, **auth(secret))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("organizations")

    response = api_client.post("/api/v1/api-keys/", {"kind": "customer"}, **auth(secret))
    assert response.json() == {"detail": "customer is required"}
    customer = tenant_a["customers"]
    response = api_client.post(
        "/api/v1/api-keys/", {"kind": "customer", "customer": str(customer.uuid)}, **auth(secret)
    )
    assert response.status_code == 201
    assert ApiKey.objects.get(uuid=response.json()["uuid"]).customer == customer

    _, hub = make_key(tenant_a["org"], tenant_b["org"], kind=ApiKey.Kind.HUB)
    listed = api_client.get("/api/v1/api-keys/", **auth(secret)).json()["results"]
    assert all(row["kind"] != "hub" for row in listed)  # it also covers organization B


def test_working_hours_times_are_local(tenant_a):
    # Sanity: the fixture's hours are the factory's 09:00-17:00 local window.
    assert WorkingHours.objects.filter(staff=tenant_a["staff"]).first().start_time == time(9)


def test_a_hold_is_released_once_and_its_slot_is_free(api_client, tenant_a):
    hold = tenant_a["holds"]
    url = f"/api/v1/holds/{hold.uuid}/release/"
    response = api_client.post(url, **auth(tenant_a["secret"]))
    assert response.status_code == 200
    assert response.json()["status"] == "released"
    again = api_client.post(url, **auth(tenant_a["secret"]))
    assert (again.status_code, again.json()["status"]) == (200, "released")


def test_a_participant_leaves_and_the_seats_are_free(api_client, tenant_a):
    participant = tenant_a["participants"]
    response = api_client.post(f"/api/v1/participants/{participant.uuid}/leave/", **auth(tenant_a["secret"]))
    assert response.status_code == 200
    assert response.json()["status"] == "left" and response.json()["left_at"]
    listed = api_client.get("/api/v1/participants/?status=active", **auth(tenant_a["secret"])).json()
    assert listed["count"] == 0
