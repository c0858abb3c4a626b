"""`GET /api/calendar/v1/public/availability`: the demo organization's slots, and every error row."""

from datetime import date, timedelta

import pytest

from bookings.availability import find_slots
from organizations.keys import api_key_revoke
from organizations.models import ApiKey, Service, StaffMember, Team
from tests.factories import make_key, make_org

pytestmark = pytest.mark.django_db
URL = "/api/calendar/v1/public/availability"


def next_weekday(weekday: int) -> date:
    day = date.today() + timedelta(days=7)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def get(api_client, key, **params):
    headers = {"HTTP_X_KORDLESS_KEY": key} if key else {}
    return api_client.get(URL, params, **headers)


def test_demo_haircut_slots_in_the_reference_shape(api_client, demo):
    tuesday = next_weekday(1)
    response = get(
        api_client,
        demo["keys"]["public"],
        org_slug="acme-salon",
        service_slug="haircut",
        **{"from": f"{tuesday}T00:00:00Z", "to": f"{tuesday}T23:59:59Z"},
    )
    assert response.status_code == 200
    slots = response.json()["slots"]
    # 09:00-18:00 New York, 60 minutes every 30: 09:00 .. 17:00 local, 17 starts, two hosts each.
    assert len(slots) == 17
    first = slots[0]
    assert set(first) >= {"startsAt", "endsAt", "host_id", "team_id", "capacity"}
    assert first["startsAt"].endswith("Z") and first["startsAt"][11:16] in ("14:00", "13:00")
    assert first["capacity"] == 1
    staff_uuids = {s["uuid"] for s in demo["staff"]}
    assert first["host_id"] in staff_uuids and set(first["host_ids"]) == staff_uuids


def test_the_x_api_key_header_works_too_and_group_capacity_shows(api_client, demo):
    tuesday = next_weekday(1)
    response = api_client.get(
        URL,
        {"org_slug": "acme-salon", "service_slug": "yoga-class", "from": f"{tuesday}T00:00:00+00:00", "to": f"{tuesday}T23:59:59+00:00"},
        HTTP_X_API_KEY=demo["keys"]["public"],
    )  # fmt: skip
    assert response.status_code == 200
    assert {slot["capacity"] for slot in response.json()["slots"]} == {12}


def test_host_and_team_filters(api_client, demo):
    tuesday = next_weekday(1)
    alex = StaffMember.objects.get(uuid=demo["staff"][0]["uuid"])
    team = Team.objects.create(organization=alex.organization, name="Colourists")
    team.members.set([alex])
    base = {
        "org_slug": "acme-salon",
        "service_slug": "haircut",
        "from": f"{tuesday}T00:00:00Z",
        "to": f"{tuesday}T23:00:00Z",
    }
    for extra in ({"host_id": str(alex.uuid)}, {"team_id": str(team.uuid)}):
        slots = get(api_client, demo["keys"]["public"], **base, **extra).json()["slots"]
        assert slots and all(s["host_ids"] == [str(alex.uuid)] for s in slots)
    assert get(api_client, demo["keys"]["public"], **base, team_id=str(team.uuid)).json()["slots"][0]["team_id"] == str(
        team.uuid
    )


def test_the_endpoint_agrees_with_the_engine(api_client, demo):
    service = Service.objects.get(slug="haircut")
    tuesday = next_weekday(1)
    response = get(api_client, demo["keys"]["business"], org_slug="acme-salon", service_slug="haircut",
                   **{"from": f"{tuesday}T00:00:00Z", "to": f"{tuesday + timedelta(days=6)}T00:00:00Z"})  # fmt: skip
    from datetime import UTC, datetime, time

    engine = find_slots(
        service,
        datetime.combine(tuesday, time(0), tzinfo=UTC),
        datetime.combine(tuesday + timedelta(days=6), time(0), tzinfo=UTC),
    )
    assert [s["startsAt"] for s in response.json()["slots"]] == [
        s.starts_at.isoformat().replace("+00:00", "Z") for s in engine
    ]


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"from": None}, 400, "from is required"),
        ({"to": None}, 400, "to is required"),
        ({"from": "yesterday"}, 400, "from: not an ISO 8601 date-time"),
        ({"from": "2030-01-01T00:00:00"}, 400, "from: a UTC offset is required"),
        ({"to": "2029-12-31T00:00:00Z"}, 400, "to must be after from"),
        ({"to": "2030-02-15T00:00:00Z"}, 400, "The window from..to may not exceed 31 days"),
        ({"org_slug": None}, 400, "org_slug is required"),
        ({"org_slug": "nobody"}, 404, "Organization not found"),
        ({"service_slug": "juggling"}, 404, "Service not found"),
        ({"host_id": "not-a-staff"}, 404, "Staff member not found"),
    ],
)
def test_error_rows(api_client, demo, params, status, detail):
    query = {
        "org_slug": "acme-salon",
        "service_slug": "haircut",
        "from": "2030-01-01T00:00:00Z",
        "to": "2030-01-02T00:00:00Z",
    }
    query.update(params)
    query = {k: v for k, v in query.items() if v is not None}
    response = get(api_client, demo["keys"]["public"], **query)
    assert response.status_code == status
    assert list(response.json()) == ["detail"] and response.json()["detail"].startswith(detail)


def test_missing_unknown_and_revoked_keys_are_401(api_client, demo):
    query = {
        "org_slug": "acme-salon",
        "service_slug": "haircut",
        "from": "2030-01-01T00:00:00Z",
        "to": "2030-01-02T00:00:00Z",
    }
    missing = get(api_client, None, **query)
    assert missing.status_code == 401 and missing.json() == {"detail": "Missing x-kordless-key header"}
    assert get(api_client, "cal_pub_nonsense", **query).json() == {"detail": "Invalid API key"}
    api_key_revoke(api_key=ApiKey.objects.get(kind="public", revoked_at__isnull=True))
    revoked = get(api_client, demo["keys"]["public"], **query)
    assert revoked.status_code == 401 and revoked.json() == {"detail": "API key has been revoked"}


def test_a_key_of_another_organization_gets_404(api_client, demo):
    _, other = make_key(make_org(), kind=ApiKey.Kind.PUBLIC)
    query = {
        "org_slug": "acme-salon",
        "service_slug": "haircut",
        "from": "2030-01-01T00:00:00Z",
        "to": "2030-01-02T00:00:00Z",
    }
    response = get(api_client, other, **query)
    assert response.status_code == 404 and response.json() == {"detail": "Organization not found"}
