"""django-ratelimit's counters, counted in one cache round trip.

`request_count(group, value, rate)` is `django_ratelimit.core.get_usage(request, group=group,
key=<value>, rate=rate, increment=True)` for any method: the same cache key, window, expiry and
answer, so both may count the same budget. Where the cache can add and increment in one step
(config.redis_cache's `count`), that is one round trip; django-ratelimit always makes two (ADD,
then INCR), and a booking counts its key's budget on every attempt.
"""

import time
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django_ratelimit import ALL
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate, get_usage

from organizations.errors import RateLimited


def request_count(group: str, value: str, rate: str) -> dict[str, Any] | None:
    """Count one more request of `value` against `rate` in `group`: django-ratelimit's usage dict
    (count, limit, should_limit, time_left), or None when rate limiting is off."""
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    count_in_one_trip = getattr(cache, "count", None)
    if count_in_one_trip is None or not getattr(settings, "RATELIMIT_ENABLE", True):
        return get_usage(None, group=group, key=lambda _group, _request: value, rate=rate, increment=True)
    limit, period = _split_rate(rate)
    window = _get_window(value, period)
    count = count_in_one_trip(_make_cache_key(group, window, rate, value, ALL), period + EXPIRATION_FUDGE)
    return {"count": count, "limit": limit, "should_limit": count > limit, "time_left": window - int(time.time())}


def request_limit(group: str, value: str, rate: str) -> None:
    """`request_count`, and RateLimited (429, its Retry-After the window's rest) once over `rate`."""
    usage = request_count(group, value, rate)
    if usage and usage["should_limit"]:
        raise RateLimited(retry_after=max(1, usage["time_left"]))
