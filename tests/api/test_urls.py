"""Every path under /api/ and /bookings/ answers with and without its trailing slash (never a redirect),
and anything unknown there (path or method) answers JSON, never an HTML page, DEBUG on or off."""

import json
import re
from datetime import UTC, timedelta

import pytest
from django.http import HttpResponse
from django.middleware.common import CommonMiddleware
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

from bookings.api.middleware import served_spelling
from bookings.models import Booking
from organizations.models import Location, Service
from tests.factories import future_day, local_dt, make_booking

pytestmark = pytest.mark.django_db

API_PREFIXES = ("api/", "bookings/")
# HTML by design: the OpenAPI browsers.
HTML_PAGES = {"api-docs", "api-redoc"}
CATCH_ALL = "api-not-found"
METHODS = ("get", "post", "put", "patch", "delete")
# Values for path parameters: an id of each shape a client may send (none of them exists).
# Fixed values: every pytest-xdist worker must collect the same tests.
SAMPLES = ("3f2b8c1e-9d4a-4e6b-8a7c-5d1e2f3a4b5c", "12345", "book_nothere")


def _template(pattern) -> tuple[str, dict[str, str]]:
    """A pattern as a `str.format` template (`bookings/{id}/cancel`) and the regex of each parameter."""
    if isinstance(pattern, RoutePattern):
        fields = {name: converter.regex for name, converter in pattern.converters.items()}
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern)), fields
    assert isinstance(pattern, RegexPattern), pattern
    group = r"\(\?P<(\w+)>([^)]*)\)"
    regex = str(pattern).removeprefix("^").removesuffix("$")
    text = re.sub(group, r"{\1}", regex)
    assert not re.search(r"[\\()\[\]^$*+?|]", text), f"cannot fill in {pattern}"
    return text, dict(re.findall(group, regex))


def _walk(patterns, prefix: str = "", fields: dict | None = None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            template, own = _template(entry.pattern)
            if not template.startswith("admin/"):
                yield from _walk(entry.url_patterns, prefix + template, {**(fields or {}), **own})
        elif entry.name != CATCH_ALL:
            assert isinstance(entry, URLPattern)
            template, own = _template(entry.pattern)
            yield prefix + template, entry.name, {**(fields or {}), **own}


def api_routes() -> list[tuple[str, str, dict[str, str]]]:
    """(template, url name, parameter regexes) of every route under the API prefixes (the catch-all left out)."""
    return [route for route in _walk(get_resolver().url_patterns) if route[0].startswith(API_PREFIXES)]


def sample_paths() -> list[tuple[str, str]]:
    """(path, url name) for every route, its parameters filled with each sample value they accept."""
    paths = []
    for template, name, fields in api_routes():
        fitting = [s for s in SAMPLES if all(re.fullmatch(regex, s) for regex in fields.values())] if fields else [""]
        assert fitting, f"no sample fits {template}"
        paths += [("/" + template.format(**dict.fromkeys(fields, sample)), name) for sample in fitting]
    return sorted(set(paths))


def spellings(path: str) -> tuple[str, str]:
    return path.rstrip("/"), path.rstrip("/") + "/"


def csrf_client(**headers) -> Client:
    # A real client sends no CSRF token: the test client must not skip the check either.
    return Client(enforce_csrf_checks=True, **headers)


def call(client: Client, method: str, path: str):
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    return getattr(client, method)(path, data="{}", content_type="application/json")


def assert_json(response) -> None:
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response["Content-Type"])
    json.loads(response.content)


def assert_same_both_ways(client: Client, method: str, path: str, name: str) -> None:
    bare, slashed = (call(client, method, spelling) for spelling in spellings(path))
    for response in (bare, slashed):
        assert not 300 <= response.status_code < 400, f"{method.upper()} {path}: {response.status_code} redirect"
        assert response.status_code < 500
        if name not in HTML_PAGES:
            assert not response["Content-Type"].startswith("text/html"), f"{method.upper()} {path}: HTML"
    assert bare.status_code == slashed.status_code, f"{method.upper()} {path}"
    if name not in HTML_PAGES:
        assert bare.content == slashed.content, f"{method.upper()} {path}"
    for header in ("Content-Type", "Allow", "WWW-Authenticate"):
        assert bare.get(header) == slashed.get(header), f"{method.upper()} {path}: {header}"


# --- the enumeration itself ------------------------------------------------------------------


def test_the_enumeration_finds_every_surface_and_each_sample_path_resolves_to_its_route():
    names = {name for _, name, _ in api_routes()}
    assert {
        "public-booking-create",
        "bookings-customer",
        "hold-create",
        "session-create",
        "booking-list",
        "location-detail",
        "webhook-endpoint-list",
        "stripe-webhook",
        "schema",
    } <= names
    for path, name in sample_paths():
        assert resolve(served_spelling(path)).url_name == name, path
        for spelling in spellings(path):
            assert resolve(served_spelling(spelling)).url_name == name, spelling


# --- every route, both spellings -------------------------------------------------------------


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])
def test_every_route_answers_the_same_with_and_without_its_slash(settings, debug):
    settings.DEBUG = debug
    client = csrf_client()
    for path, name in sample_paths():
        for method in ("get",) if name in HTML_PAGES or name == "schema" else METHODS:
            assert_same_both_ways(client, method, path, name)


def test_every_route_answers_a_business_key_the_same_with_and_without_its_slash(demo, settings):
    settings.DEBUG = True
    client = csrf_client(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['business']}")
    for path, name in sample_paths():
        if name not in HTML_PAGES and name != "schema":
            assert_same_both_ways(client, "get", path, name)


def test_the_api_answers_unauthenticated_requests_with_401_json():
    for path, name in sample_paths():
        if name in ("booking-list", "location-list", "bookings-customer", "hold-create", "session-create"):
            for spelling in spellings(path):
                response = call(csrf_client(), "post", spelling)
                assert response.status_code == 401, spelling
                assert_json(response)
                assert set(response.json()) == {"detail"}


# --- the ones clients use most ---------------------------------------------------------------


def test_bookings_with_a_slash_lists_like_without(demo, api_client):
    service = Service.objects.get(id=demo["services"]["haircut"]["id"])
    location = Location.objects.get(id=demo["location"]["id"])
    day = future_day(weekday=2)
    made = {make_booking(service, location, local_dt("America/New_York", day, hour)).public_id for hour in (10, 12)}
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['business']}")

    bare = api_client.get("/api/v1/bookings?limit=1")
    slashed = api_client.get("/api/v1/bookings/?limit=1")

    assert bare.status_code == slashed.status_code == 200
    assert bare.json() == slashed.json()  # the `next` link too: it is built from the served spelling
    assert bare.json()["next"].startswith("http://testserver/api/v1/bookings?")
    listed = api_client.get("/api/v1/bookings/").json()["results"]
    assert made <= {row["id"] for row in listed}


def test_post_without_the_slash_creates_with_its_body_intact(demo, api_client):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['business']}")

    response = api_client.post("/api/v1/locations", {"name": "Annex", "value": "2 Side Street"}, format="json")

    assert response.status_code == 201, response.json()
    location = Location.objects.get(uuid=response.json()["uuid"])
    assert (location.name, location.value) == ("Annex", "2 Side Street")


def public_booking_body() -> dict:
    starts_at = local_dt("America/New_York", future_day(weekday=2), 11).astimezone(UTC)
    return {
        "org_slug": "acme-salon",
        "service_slug": "haircut",
        "starts_at": starts_at.isoformat().replace("+00:00", "Z"),
        "ends_at": (starts_at + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "timezone": "America/New_York",
        "contact": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+1234567890"},
        "party_size": 1,
    }


def test_a_public_booking_posted_with_a_slash_books(demo):
    client = csrf_client(HTTP_X_KORDLESS_KEY=demo["keys"]["public"])

    response = client.post(
        "/api/calendar/v1/public/bookings/", data=public_booking_body(), content_type="application/json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["booking"]["status"] == "confirmed"


def test_an_idempotent_retry_in_the_other_spelling_replays(demo):
    client = csrf_client(HTTP_X_KORDLESS_KEY=demo["keys"]["public"], HTTP_IDEMPOTENCY_KEY="retry-1")
    body = public_booking_body()

    first = client.post("/api/calendar/v1/public/bookings/", data=body, content_type="application/json")
    retry = client.post("/api/calendar/v1/public/bookings", data=body, content_type="application/json")

    assert first.status_code == retry.status_code == 201, retry.json()
    assert retry.json() == first.json()
    assert Booking.objects.count() == 1


# --- unknown paths and methods ---------------------------------------------------------------

UNKNOWN = [
    "/api",
    "/api/",
    "/api/nope",
    "/api/nope/",
    "/api/v1/nope",
    "/api/v1/bookings/x/y/z",
    "/api/v1/bookings/x/y/z/",
    "/api/v1/bookings/hold/not-a-uuid",
    "/api/calendar/v1/public/nope",
    "/api/v1/locations/x/y/",
    "/bookings",
    "/bookings/",
    "/bookings/nope",
    "/bookings/nope/",
]


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])
@pytest.mark.parametrize("method", METHODS)
def test_unknown_paths_are_404_json(settings, debug, method):
    settings.DEBUG = debug
    for path in UNKNOWN:
        response = call(csrf_client(), method, path)
        assert response.status_code == 404, (method, path, response.status_code)
        assert_json(response)
        assert response.json() == {"detail": "Not found."}, path


def wrong_methods(demo) -> list[tuple[str, str, str, str]]:
    """(method, path, key, expected Allow)."""
    return [
        ("put", "/api/v1/bookings/hold", demo["keys"]["session"], "POST, OPTIONS"),
        ("get", "/api/v1/stripe/webhook", "", "POST, OPTIONS"),
        ("delete", "/bookings/customer", demo["keys"]["customer"], "POST, OPTIONS"),
        ("get", "/api/v1/sessions", demo["keys"]["public"], "POST, OPTIONS"),
        ("patch", "/api/calendar/v1/public/bookings", demo["keys"]["public"], "POST, OPTIONS"),
    ]


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])
def test_wrong_methods_are_405_json_with_allow(demo, settings, debug):
    settings.DEBUG = debug
    for method, path, key, allow in wrong_methods(demo):
        client = csrf_client(HTTP_AUTHORIZATION=f"Bearer {key}") if key else csrf_client()
        for spelling in spellings(path):
            response = call(client, method, spelling)
            assert response.status_code == 405, (method, spelling, response.status_code)
            assert_json(response)
            assert set(response.json()) == {"detail"}
            assert response["Allow"] == allow


def test_an_unknown_method_is_405_json(demo):
    client = csrf_client(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['business']}")
    response = client.generic("PROPFIND", "/api/v1/bookings")
    assert response.status_code == 405
    assert_json(response)


# --- Django's APPEND_SLASH -------------------------------------------------------------------


def test_common_middleware_never_redirects_an_api_path(settings):
    assert settings.APPEND_SLASH
    middleware = CommonMiddleware(lambda request: HttpResponse(status=404))
    factory = RequestFactory()
    paths = [spelling for path, _ in sample_paths() for spelling in spellings(path)] + UNKNOWN
    for path in paths:
        for method in ("get", "post"):
            request = getattr(factory, method)(path)
            request.path_info = served_spelling(request.path_info)
            assert not middleware.should_redirect_with_slash(request), path
            assert middleware(request).status_code == 404, path
