"""The OpenAPI schema at /api/schema/ is valid, and describes auth and errors for the resource API."""

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory, django_db_blocker):
    path = tmp_path_factory.mktemp("schema") / "schema.yml"
    with django_db_blocker.unblock():
        # --fail-on-warn: any view drf-spectacular cannot describe fails the test.
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_validates_without_warnings(schema_file):
    assert schema_file["openapi"].startswith("3.")


def test_both_key_headers_are_documented_auth_schemes(schema_file):
    schemes = schema_file["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: `Authorization: Bearer cal_...`.",
    }
    assert schemes["kordlessKey"]["in"] == "header"
    assert schemes["kordlessKey"]["name"] == "x-kordless-key"


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/v1/locations/", "get", {"200", "400", "401", "403"}),
        ("/api/v1/locations/", "post", {"201", "400", "401", "403", "422"}),
        ("/api/v1/locations/{uuid}/", "delete", {"204", "401", "403", "404", "409"}),
        ("/api/v1/series/{uuid}/cancel/", "post", {"200", "400", "401", "403", "404", "422"}),
        ("/api/v1/api-keys/", "post", {"201", "400", "401", "403"}),
        ("/bookings/customer", "post", {"201", "400", "401", "403", "404", "409", "422"}),
        ("/bookings/merchant", "post", {"201", "400", "401", "403", "404", "409", "422"}),
    ],
)
def test_resource_operations_document_their_errors(schema_file, path, method, codes):
    operation = schema_file["paths"][path][method]
    assert codes <= set(operation["responses"])
    error = operation["responses"]["401"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorDetail"}
    assert {"bearerAuth": []} in operation["security"]


def test_customer_and_merchant_answers_have_no_body(schema_file):
    for path in ("/bookings/customer", "/bookings/merchant"):
        created = schema_file["paths"][path]["post"]["responses"]["201"]
        assert "content" not in created


def test_api_key_creation_documents_the_one_time_secret(schema_file):
    created = schema_file["paths"]["/api/v1/api-keys/"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "secret" in schema_file["components"]["schemas"][ref]["properties"]


def test_docs_page_is_served_with_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in response.content


@pytest.mark.parametrize("action", ["cancel", "reschedule"])
def test_self_service_actions_are_documented_with_the_lookup_errors(schema_file, action):
    operation = schema_file["paths"][f"/api/calendar/v1/public/bookings/confirmation/{{confirmation_number}}/{action}"]
    codes = set(operation["post"]["responses"])
    assert {"200", "400", "403", "404", "409", "422", "429"} <= codes
