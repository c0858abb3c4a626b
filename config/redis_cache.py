"""Django's Redis cache, keeping one client per connection pool and incrementing in one round trip.

Django's client builds a new `redis.Redis` object for every cache operation (its own code marks
`get_client` as the place to customise). Building it costs more than a local Redis round trip;
the object is thread-safe and the pool is shared anyway, so one per pool is kept.

Django's `incr` asks EXISTS, then INCRBY (a missing key must raise, not start at 0 with no
expiry). The rate limits increment on every counted request, so both run as one script here.

`count` adds one to a counter, creating it with its expiry when it is new, as one script: the rate
limits' counters (organizations.rate_counts), which django-ratelimit counts in two round trips.

`set_many` without expiry (the cache versions every booking replaces) is one MSET, where Django
builds a pipeline for the expiries it would add. Keys are not checked against memcached's limits
(length, spaces, control characters: Django warns of them for every backend, one character at a
time on every operation): Redis has none of them, and this backend is only ever Redis.
"""

from typing import cast

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""

COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._scripts = {}

    # _get_connection_pool and _client are Django's RedisCacheClient internals (this class's reason
    # to exist), which django-stubs leaves out.
    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def _script(self, key, source):
        """`source` registered once per client (redis-py then runs it by its digest)."""
        client = self.get_client(key, write=True)
        script = self._scripts.get((id(client), source))
        if script is None:
            script = self._scripts[(id(client), source)] = client.register_script(source)
        return script

    def incr(self, key, delta):
        value = self._script(key, INCR_EXISTING)(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def count(self, key, timeout):
        return int(self._script(key, COUNT)(keys=[key], args=[timeout]))

    def set_many(self, data, timeout):
        if timeout is not None:
            return super().set_many(data, timeout)
        self.get_client(None, write=True).mset({key: self._serializer.dumps(value) for key, value in data.items()})  # type: ignore[attr-defined]


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient

    def count(self, key, timeout, version=None):
        """One more at `key` (1 when it is new, expiring after `timeout` seconds); the new count."""
        client = cast(ReusedClientRedisCacheClient, self._cache)  # the client class __init__ sets
        return client.count(self.make_and_validate_key(key, version=version), self.get_backend_timeout(timeout))

    def validate_key(self, key):
        """Any key Redis takes (see the module): no memcached warnings."""
