"""Views whose cached lookups start from one round trip (organizations/versioned_cache.py).

A public request looks up its key, its organization, its service and its answer in the cache, each
a round trip of its own. `VersionedReadsPrimedMixin` reads first, in one round trip, what the last
request of the same kind read: the same key presenting the same query (availability), or the same
key (a create, whose body names what it books). The lookups themselves are unchanged.
"""

import hashlib

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from organizations.versioned_cache import versioned_reads_primed

# Where a key may be presented (organizations.auth.presented_secret).
KEY_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_KORDLESS_KEY", "HTTP_X_API_KEY")


class VersionedReadsPrimedMixin:
    """For an APIView. `primed_by_query`: requests alike also present the same query string."""

    primed_by_query = False

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        meta = request.META
        parts = [type(self).__name__, *(meta.get(name) or "" for name in KEY_HEADERS)]
        if self.primed_by_query:
            parts.append(meta.get("QUERY_STRING", ""))
        # A digest: the secrets presented are not kept in memory.
        identity = hashlib.blake2b("\0".join(parts).encode(), digest_size=16).digest()
        with versioned_reads_primed(identity):
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
