"""Versioned lookups primed by what the last request alike read (organizations/versioned_cache.py,
bookings/api/primed_reads.py): one round trip to the cache, the same answers."""

from unittest import mock

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from organizations.models import ApiKey
from organizations.versioned_cache import (
    CacheUnavailable,
    version_replace,
    versioned_get,
    versioned_reads_primed,
    versioned_set,
)
from tests.factories import future_day, make_key, make_location, make_org, make_service, make_staff

URL = "/api/calendar/v1/public/availability"


@pytest.fixture
def round_trips():
    """Every round trip of versioned reads (`get_many`, one MGET with Redis), with its keys."""
    calls = []
    real_get_many = cache.get_many

    def get_many(keys, *args, **kwargs):
        calls.append(list(keys))
        return real_get_many(keys, *args, **kwargs)

    with mock.patch.object(cache, "get_many", get_many):
        yield calls


@pytest.mark.django_db
def test_a_repeated_cached_request_reads_the_cache_once(settings, round_trips):
    settings.REDIS_URL = "redis://shared"  # the cache stays in memory: only the choice is tested
    settings.AVAILABILITY_CACHE_SECONDS = 60
    org = make_org()
    location = make_location(org)
    make_service(org, locations=[location], staff=[make_staff(org)], slug="cut")
    _, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    day = future_day()
    params = {"org_slug": org.slug, "service_slug": "cut", "from": f"{day}T00:00:00Z", "to": f"{day}T23:59:59Z"}
    client = APIClient(HTTP_X_KORDLESS_KEY=secret)
    first = client.get(URL, params)
    assert len(round_trips) >= 4  # the key, the organization, the service, the answer
    round_trips.clear()
    again = client.get(URL, params)
    assert again.json() == first.json()
    assert len(round_trips) == 1


def test_a_block_reads_what_the_last_block_alike_read_in_one_round_trip(round_trips):
    versioned_set("entry:a", versioned_get("version:a", "entry:a")[0], "A", 60)
    versioned_set("entry:b", versioned_get("version:b", "entry:b")[0], "B", 60)
    with versioned_reads_primed("alike"):
        assert versioned_get("version:a", "entry:a")[1] == "A"
        assert versioned_get("version:b", "entry:b")[1] == "B"
    round_trips.clear()
    with versioned_reads_primed("alike"):
        assert versioned_get("version:a", "entry:a")[1] == "A"
        assert versioned_get("version:b", "entry:b")[1] == "B"
    assert round_trips == [["version:a", "entry:a", "version:b", "entry:b"]]


def test_what_changed_before_the_block_is_read_as_it_is_now():
    versioned_set("entry:c", versioned_get("version:c", "entry:c")[0], "old", 60)
    with versioned_reads_primed("changing"):
        versioned_get("version:c", "entry:c")
    version_replace("version:c")  # a write elsewhere abandons the entry
    with versioned_reads_primed("changing"):
        version, value = versioned_get("version:c", "entry:c")
        assert value is None
        versioned_set("entry:c", version, "new", 60)  # the block's own write ...
        assert versioned_get("version:c", "entry:c")[1] == "new"  # ... is what it reads next
        version_replace("version:c")
        assert versioned_get("version:c", "entry:c")[1] is None


def test_an_entry_is_taken_once_so_a_value_changed_in_place_is_read_again():
    versioned_set("entry:d", versioned_get("version:d", "entry:d")[0], {"n": 1}, 60)
    with versioned_reads_primed("twice"):
        versioned_get("version:d", "entry:d")
    with versioned_reads_primed("twice"):
        first = versioned_get("version:d", "entry:d")[1]
        first["n"] = 2
        assert versioned_get("version:d", "entry:d")[1] == {"n": 1}


def test_a_cache_outage_while_priming_is_met_by_the_lookups_as_before():
    versioned_set("entry:e", versioned_get("version:e", "entry:e")[0], "E", 60)
    with versioned_reads_primed("outage"):
        versioned_get("version:e", "entry:e")
    with mock.patch.object(cache, "get_many", side_effect=ConnectionError("down")):
        with versioned_reads_primed("outage"):  # logged, not raised
            with pytest.raises(CacheUnavailable):  # what the caller turns into computing
                versioned_get("version:e", "entry:e")
    with versioned_reads_primed("outage"):
        assert versioned_get("version:e", "entry:e")[1] == "E"


def test_the_hints_kept_are_bounded(monkeypatch):
    from organizations import versioned_cache

    monkeypatch.setattr(versioned_cache, "READ_SETS_MAX", 3)
    monkeypatch.setattr(versioned_cache, "_READ_SETS", {})
    for n in range(5):
        with versioned_reads_primed(f"bounded-{n}"):
            versioned_get("version:f", f"entry:f{n}")
    assert list(versioned_cache._READ_SETS) == ["bounded-2", "bounded-3", "bounded-4"]


@pytest.mark.django_db
def test_a_create_naming_a_host_named_before_reads_the_cache_once(settings, demo, round_trips):
    from organizations.models import Service
    from tests.api.public.test_public_create import payload, post, slot

    settings.REDIS_URL = "redis://shared"
    hosts = list(Service.objects.get(organization__slug="acme-salon", slug="haircut").staff.all()[:2])
    assert len(hosts) == 2

    def create(hour: int, host):
        return post(APIClient(), payload(slot(hour), host_id=str(host.uuid)), demo["keys"]["public"])

    first = create(10, hosts[0])
    assert first.status_code == 201, first.json()
    assert create(11, hosts[1]).status_code == 201
    round_trips.clear()
    assert create(12, hosts[0]).status_code == 201
    assert len(round_trips) == 1  # the key, the organization, the service, the host, the endpoints


def peek_request(body: bytes, content_type: str = "application/json"):
    from django.test import RequestFactory

    return RequestFactory().post("/x", body, content_type=content_type)


@pytest.mark.parametrize(
    "body, content_type, found",
    [
        (b'{"org_slug": "a", "host_id": "h-1"}', "application/json", "h-1"),
        (b'{"host_id":"h-2"}', "application/json; charset=utf-8", "h-2"),
        (b'{"org_slug": "a"}', "application/json", ""),
        (b'{"host_id": null}', "application/json", ""),
        (b"host_id=h-3", "application/x-www-form-urlencoded", ""),
        (b'{"host_id": "h-4", "notes": "' + b"x" * 20_000 + b'"}', "application/json", ""),  # too big to peek
    ],
)
def test_a_body_field_is_peeked_at_only_in_a_small_json_body(body, content_type, found):
    from bookings.api.primed_reads import body_field_peeked

    request = peek_request(body, content_type)
    assert body_field_peeked(request, "host_id") == found
    assert request.body == body  # still there for the view to parse
