"""API key rows cached with a shared cache (organizations/keys.py): a repeated request reads no key
from the database, and every write of a key (a revocation above all) shows in the very next request."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from organizations.errors import NotAuthenticated
from organizations.keys import api_key_authenticate, api_key_revoke, session_token_issue
from organizations.models import ApiKey
from organizations.versioned_cache import versioned_reads_primed
from tests.factories import future_day, make_customer, make_key, make_location, make_org, make_service, make_staff

pytestmark = pytest.mark.django_db
URL = "/api/calendar/v1/public/availability"


@pytest.fixture
def caches_on(settings):
    """The caches as production runs them; the cache stays in memory (one process): only the choice
    of caching is tested, as REDIS_URL makes it."""
    settings.REDIS_URL = "redis://shared"
    settings.API_KEY_CACHE_SECONDS = 300
    settings.CATALOG_CACHE_SECONDS = 300
    settings.AVAILABILITY_CACHE_SECONDS = 60


@pytest.fixture
def shop():
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location], staff=[make_staff(org)], slug="cut")
    return org, service


def availability(secret: str, org, day=None):
    day = day or future_day()
    params = {"org_slug": org.slug, "service_slug": "cut", "from": f"{day}T00:00:00Z", "to": f"{day}T23:59:59Z"}
    return APIClient().get(URL, params, HTTP_X_KORDLESS_KEY=secret)


def test_a_repeated_request_reads_nothing_from_the_database(caches_on, shop, django_assert_num_queries):
    org, _ = shop
    _, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    assert availability(secret, org).status_code == 200
    with django_assert_num_queries(0):  # the key, the catalog and the answer: all cached
        response = availability(secret, org)
    assert response.status_code == 200 and response.json()["slots"]


def test_without_a_shared_cache_the_key_is_read_every_time(settings, shop, django_assert_num_queries):
    settings.REDIS_URL = ""
    settings.AVAILABILITY_CACHE_SECONDS = 60
    org, _ = shop
    _, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    assert availability(secret, org).status_code == 200
    with django_assert_num_queries(1):  # the key; the catalog and the answer are cached
        assert availability(secret, org).status_code == 200


def revoke_with_the_service(key: ApiKey) -> None:
    api_key_revoke(api_key=key)


def revoke_with_a_queryset(key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())


def revoke_by_saving(key: ApiKey) -> None:
    key.revoked_at = timezone.now()
    key.save()


def expire_by_saving(key: ApiKey) -> None:
    key.expires_at = timezone.now() - timedelta(seconds=1)
    key.save(update_fields=["expires_at"])


def delete(key: ApiKey) -> None:
    key.delete()


def delete_with_a_queryset(key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk).delete()


@pytest.mark.parametrize(
    "write, message",
    [
        (revoke_with_the_service, "API key has been revoked"),
        (revoke_with_a_queryset, "API key has been revoked"),
        (revoke_by_saving, "API key has been revoked"),
        (expire_by_saving, "API key has expired"),
        (delete, "Invalid API key"),
        (delete_with_a_queryset, "Invalid API key"),
    ],
)
def test_every_write_of_a_cached_key_shows_in_the_next_request(caches_on, shop, write, message):
    org, _ = shop
    key, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    assert availability(secret, org).status_code == 200  # cached now
    write(ApiKey.objects.get(pk=key.pk))
    response = availability(secret, org)
    assert response.status_code == 401
    assert message in response.content.decode()


def test_revoking_a_public_key_refuses_its_cached_session_tokens(caches_on, shop):
    org, _ = shop
    public, _ = make_key(org, kind=ApiKey.Kind.PUBLIC)
    token_key, token = session_token_issue(public_key=public, minutes=30)
    with versioned_reads_primed("token"):
        assert api_key_authenticate(token) == token_key  # cached now
    api_key_revoke(api_key=public)  # the tokens it minted, by one QuerySet.update()
    with versioned_reads_primed("token"), pytest.raises(NotAuthenticated, match="API key has been revoked"):
        api_key_authenticate(token)


def test_a_new_key_leaves_the_cached_keys_cached(caches_on, shop, django_assert_num_queries):
    """A widget mints a session token on every load: that must not empty the key cache."""
    org, _ = shop
    public, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    assert availability(secret, org).status_code == 200
    session_token_issue(public_key=public, minutes=30)
    make_key(org)
    with django_assert_num_queries(0):
        assert availability(secret, org).status_code == 200


def test_last_used_is_written_once_a_minute_and_kept_in_the_cache(caches_on, shop, django_assert_num_queries):
    org, _ = shop
    key, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    availability(secret, org)
    first_use = ApiKey.objects.get(pk=key.pk).last_used_at
    assert first_use is not None
    availability(secret, org)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first_use  # within the minute: not written
    # Two minutes on: written once, and the cached row knows it (the next request writes nothing).
    later = timezone.now() + timedelta(minutes=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: later)
        with django_assert_num_queries(1):  # the UPDATE of last_used_at; the rest is cached
            availability(secret, org)
        with django_assert_num_queries(0):
            availability(secret, org)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == later


def test_a_customer_key_is_read_with_its_customer_every_time(caches_on, shop):
    """Customer keys are not cached: they bring their customer's row, which changes on its own."""
    org, _ = shop
    customer = make_customer(org, first_name="Ada")
    _, secret = make_key(org, kind=ApiKey.Kind.CUSTOMER, customer=customer)
    with versioned_reads_primed("customer"):
        assert api_key_authenticate(secret).customer.first_name == "Ada"
    customer.first_name = "Grace"
    customer.save()
    with versioned_reads_primed("customer"):
        assert api_key_authenticate(secret).customer.first_name == "Grace"


def test_outside_primed_reads_the_key_is_read_from_the_database(caches_on, shop, django_assert_num_queries):
    """Where nothing else is read from the cache in the same round trip, the compiled query costs less."""
    org, _ = shop
    _, secret = make_key(org, kind=ApiKey.Kind.PUBLIC)
    with versioned_reads_primed("warm"):
        api_key_authenticate(secret)  # cached
    with django_assert_num_queries(1):
        api_key_authenticate(secret)
    with versioned_reads_primed("warm"), django_assert_num_queries(0):
        api_key_authenticate(secret)
