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
