"""What the fuzzer checks, one request each: the API answers as its OpenAPI schema says.

An invalid request is refused (400/401, never quietly read another way), a valid one is not refused
for a reason the schema does not state, and every answer's status is one the schema documents.
"""

import pytest

from tests.factories import make_key, make_org

pytestmark = pytest.mark.django_db

AVAILABILITY = "/api/calendar/v1/public/availability"


@pytest.mark.parametrize("authorization", ["Basic eDp5", "Bearer", "Bearer   ", "Token abc", ""])
def test_an_authorization_header_that_is_not_bearer_is_refused_not_passed_over(api_client, authorization):
    org = make_org()
    _, public = make_key(org, kind="public")
    response = api_client.get(
        AVAILABILITY,
        {"org_slug": org.slug, "service_slug": "nothing"},
        HTTP_AUTHORIZATION=authorization,
        HTTP_X_KORDLESS_KEY=public,
    )
    assert response.status_code == 401
    assert "Authorization" in response.json()["detail"]


def test_a_business_key_in_x_kordless_key_beside_basic_auth_is_refused(api_client):
    org = make_org()
    _, business = make_key(org)
    response = api_client.get("/api/v1/locations/", HTTP_AUTHORIZATION="Basic eDp5", HTTP_X_KORDLESS_KEY=business)
    assert response.status_code == 401
    assert api_client.get("/api/v1/locations/", HTTP_X_KORDLESS_KEY=business).status_code == 200
    assert api_client.get("/api/v1/locations/", HTTP_AUTHORIZATION=f"bearer {business}").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/bookings?starts_at_before=",
        "/api/v1/participants/?status=",
        "/api/v1/bookings?status=",
        "/api/v1/holds/?starts_before=",
        "/api/v1/time-off/?starts_after=",
        "/api/v1/services/?staff=",
        "/api/v1/staff/?team=",
        "/api/v1/working-hours/?location=",
        "/api/v1/api-keys/?revoked=null",
        "/api/v1/services/?active=maybe",
        "/api/v1/staff/?active=2",
        "/api/v1/series/?cancelled=3",
        "/api/v1/webhook-endpoints?active=null",
        "/api/v1/locations/?offset=null",
        "/api/v1/customers/?limit=ten",
        "/api/v1/bookings?offset=",
    ],
)
def test_a_filter_or_page_parameter_with_an_unreadable_value_is_a_400_not_ignored(api_client, query):
    org = make_org()
    _, business = make_key(org)
    response = api_client.get(query, HTTP_AUTHORIZATION=f"Bearer {business}")
    assert response.status_code == 400, response.content
    name = query.split("?")[1].split("=")[0]
    assert name in response.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/bookings?starts_at_before=2030-01-01T00:00:00Z&email=",
        "/api/v1/customers/?name=&limit=5&offset=0",
        "/api/v1/services/?active=true&slug=",
        "/api/v1/api-keys/?revoked=false",
    ],
)
def test_filters_with_readable_values_and_empty_text_filters_still_answer(api_client, query):
    org = make_org()
    _, business = make_key(org)
    assert api_client.get(query, HTTP_AUTHORIZATION=f"Bearer {business}").status_code == 200


def test_the_schema_states_what_the_idempotency_key_and_availability_parameters_accept(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    operations = [
        schema["paths"][path][method]
        for path, method in [
            ("/api/v1/bookings", "post"),
            ("/api/v1/bookings/hold", "post"),
            ("/api/calendar/v1/public/bookings", "post"),
            ("/bookings/merchant", "post"),
        ]
    ]
    for operation in operations:
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["schema"]["minLength"] == 1
        assert header["schema"]["maxLength"] == 255
    availability = {p["name"]: p for p in schema["paths"][AVAILABILITY]["get"]["parameters"]}
    assert availability["org_slug"]["schema"]["minLength"] == 1
    assert availability["service_slug"]["schema"]["minLength"] == 1
    assert availability["party_size"]["schema"]["minimum"] == 1


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/v1/webhook-endpoints", "get", {"400", "401", "403"}),
        ("/api/v1/webhook-endpoints", "post", {"400", "401", "403", "422"}),
        ("/api/v1/webhook-endpoints/{id}", "get", {"401", "403", "404"}),
        ("/api/v1/webhook-endpoints/{id}", "patch", {"400", "401", "403", "404"}),
        ("/api/v1/webhook-endpoints/{id}", "delete", {"401", "403", "404"}),
    ],
)
def test_webhook_endpoints_document_the_errors_they_answer(api_client, path, method, codes):
    schema = api_client.get("/api/schema/?format=json").json()
    assert codes <= set(schema["paths"][path][method]["responses"])


def test_an_unknown_webhook_endpoint_is_the_documented_404(api_client):
    org = make_org()
    _, business = make_key(org)
    response = api_client.get(
        "/api/v1/webhook-endpoints/e3e70682-c209-1cac-a29f-6fbed82c07cd", HTTP_AUTHORIZATION=f"Bearer {business}"
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Webhook endpoint not found"}


@pytest.mark.parametrize("active", [0, 1, "true", "on"])
def test_a_boolean_in_a_resource_body_is_json_true_or_false(api_client, active):
    org = make_org()
    _, business = make_key(org)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {business}"}
    created = api_client.post("/api/v1/webhook-endpoints", {"url": "https://hooks.example.com/in"}, **auth)
    assert created.status_code == 201
    endpoint = f"/api/v1/webhook-endpoints/{created.json()['id']}"
    refused = api_client.patch(endpoint, {"active": active}, **auth)
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("active:")
    assert api_client.get(endpoint, **auth).json()["active"] is True
    assert api_client.patch(endpoint, {"active": False}, **auth).json()["active"] is False
    staff = api_client.post("/api/v1/staff/", {"name": "Robin", "active": active}, **auth)
    assert staff.status_code == 400
    assert staff.json()["detail"].startswith("active:")


def test_an_empty_uuid_reference_is_a_400_not_read_as_null(api_client):
    org = make_org()
    _, business = make_key(org)
    response = api_client.post(
        "/api/v1/api-keys/", {"kind": "business", "customer": ""}, HTTP_AUTHORIZATION=f"Bearer {business}"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "customer: must be a uuid."


def test_a_webhook_endpoint_update_refuses_an_organization_it_does_not_keep(api_client):
    own, other = make_org(), make_org()
    _, hub = make_key(own, other, kind="hub")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {hub}"}
    created = api_client.post(
        "/api/v1/webhook-endpoints", {"organization": own.slug, "url": "https://hooks.example.com/in"}, **auth
    )
    endpoint = f"/api/v1/webhook-endpoints/{created.json()['id']}"
    for organization in ("", other.slug, "nowhere"):
        refused = api_client.patch(endpoint, {"organization": organization}, **auth)
        assert refused.status_code == 400, organization
        assert refused.json()["detail"].startswith("organization")
    kept = api_client.put(endpoint, {"organization": own.slug, "url": "https://hooks.example.com/new"}, **auth)
    assert kept.status_code == 200
    assert kept.json()["organization"] == own.slug
