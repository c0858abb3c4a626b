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
