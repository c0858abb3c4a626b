"""The Redis cache backend used with REDIS_URL (config/redis_cache.py), against the local Redis."""

import uuid

import pytest

from config.redis_cache import ReusedClientRedisCache

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_cache():
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on 127.0.0.1:6379")
    return ReusedClientRedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})


def test_it_behaves_as_a_django_cache_and_keeps_one_client(redis_cache):
    redis_cache.set("a", {"slots": [1, 2]}, timeout=30)
    assert redis_cache.get("a") == {"slots": [1, 2]}
    assert redis_cache.add("a", "other") is False
    assert redis_cache.get_many(["a", "missing"]) == {"a": {"slots": [1, 2]}}
    redis_cache.set("n", 1, timeout=30)
    assert redis_cache.incr("n") == 2
    redis_cache.delete_many(["a", "n"])
    assert redis_cache.get("a") is None

    client = redis_cache._cache.get_client("a")
    assert redis_cache._cache.get_client("b", write=True) is client


def test_incr_counts_an_existing_key_keeps_its_expiry_and_refuses_a_missing_one(redis_cache):
    redis_cache.set("hits", 1, timeout=60)
    assert redis_cache.incr("hits") == 2
    assert redis_cache.incr("hits", 5) == 7
    assert redis_cache.get("hits") == 7
    client = redis_cache._cache.get_client("hits")
    assert 0 < client.ttl(redis_cache.make_and_validate_key("hits")) <= 60
    with pytest.raises(ValueError):
        redis_cache.incr("never-set")
    assert redis_cache.get("never-set") is None


def test_set_many_keeps_values_for_ever_without_a_timeout_and_expires_them_with_one(redis_cache):
    client = redis_cache._cache.get_client("x")
    redis_cache.set("v1", "old", timeout=30)
    redis_cache.set_many({"v1": "a1b2", "v2": {"n": 1}}, timeout=None)
    assert redis_cache.get_many(["v1", "v2"]) == {"v1": "a1b2", "v2": {"n": 1}}
    assert client.ttl(redis_cache.make_and_validate_key("v1")) == -1  # no expiry, the old one gone too
    redis_cache.set_many({"v3": 3}, timeout=30)
    assert 0 < client.ttl(redis_cache.make_and_validate_key("v3")) <= 30


def test_keys_with_spaces_and_of_any_length_are_stored_without_warnings(redis_cache, recwarn):
    long_key = "catalog:" + "x" * 300
    redis_cache.set("a key with spaces", 1, timeout=30)
    redis_cache.set(long_key, 2, timeout=30)
    assert redis_cache.get_many(["a key with spaces", long_key]) == {"a key with spaces": 1, long_key: 2}
    assert [w for w in recwarn if "memcached" in str(w.message).lower()] == []


def test_count_starts_a_counter_with_its_expiry_and_adds_one_keeping_it(redis_cache):
    client = redis_cache._cache.get_client("hits")
    key = redis_cache.make_and_validate_key("window")
    assert redis_cache.count("window", 65) == 1
    assert 60 < client.ttl(key) <= 65
    client.expire(key, 30)
    assert [redis_cache.count("window", 65) for _ in range(3)] == [2, 3, 4]
    assert 0 < client.ttl(key) <= 30  # the window's expiry, not moved by counting
    assert redis_cache.get("window") == 4  # the value as the cache reads it


def test_a_request_count_counts_the_same_budget_as_django_ratelimit_in_one_round_trip(redis_cache, settings):
    from django.core.cache import caches
    from django_ratelimit.core import get_usage

    from organizations.rate_counts import request_count

    settings.CACHES = {**settings.CACHES, "ratelimit": {"BACKEND": "config.redis_cache.ReusedClientRedisCache",
                                                          "LOCATION": REDIS_URL, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}  # fmt: skip
    settings.RATELIMIT_USE_CACHE = "ratelimit"
    client = caches["ratelimit"]._cache.get_client()
    request_count("warm-up", "key-1", "3/m")  # the script loaded into this Redis (once per server)
    sent = []
    original = client.execute_command
    client.execute_command = lambda *args, **kwargs: sent.append(args[0]) or original(*args, **kwargs)
    try:
        ours = [request_count("g", "key-1", "3/m") for _ in range(2)]
        trips = len(sent)
        theirs = get_usage(None, group="g", key=lambda _g, _r: "key-1", rate="3/m", increment=True)
        last = request_count("g", "key-1", "3/m")
    finally:
        client.execute_command = original
    assert [u["count"] for u in [*ours, theirs, last]] == [1, 2, 3, 4]
    assert [u["should_limit"] for u in [*ours, theirs, last]] == [False, False, False, True]
    assert 0 <= last["time_left"] <= 60 and last["time_left"] == theirs["time_left"]
    assert trips == 2  # one round trip each (django-ratelimit's: ADD, then INCR)
    assert request_count("g", "key-2", "3/m")["count"] == 1  # another budget
