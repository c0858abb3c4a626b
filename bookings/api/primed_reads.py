"""Views whose cached lookups start from one round trip (organizations/versioned_cache.py).

A public request looks up its key, its organization, its service and its answer in the cache, each
a round trip of its own. `VersionedReadsPrimedMixin` reads first, in one round trip, what the last
request of the same kind read: the same key presenting the same query (availability), or the same
key naming the same host (a create). The lookups themselves are unchanged; what names a request's
kind is only a hint (a wrong one costs a round trip, never an answer).
"""

import functools
import hashlib
import re

from django.http import HttpRequest
from django.http.request import RawPostDataException
from django.http.response import HttpResponseBase

from organizations.auth import KEY_HEADERS
from organizations.versioned_cache import versioned_reads_primed

# A body is peeked at only when small: a booking's JSON is a few hundred bytes.
PEEK_MAX_BYTES = 16_384


@functools.cache
def _field_pattern(name: str) -> re.Pattern[bytes]:
    return re.compile(rb'"' + re.escape(name.encode()) + rb'"\s*:\s*"([^"\\]{0,100})"')


def body_field_peeked(request: HttpRequest, name: str) -> str:
    """The string `name` holds in the request's small JSON body, as written, else "": a look at the
    bytes, not a parse (the view parses, and refuses what is wrong)."""
    if request.content_type != "application/json":
        return ""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > PEEK_MAX_BYTES:
        return ""
    try:
        body = request.body
    except RawPostDataException:  # read as a stream already: no peeking
        return ""
    found = _field_pattern(name).search(body)
    return found.group(1).decode("utf-8", "replace") if found else ""


class VersionedReadsPrimedMixin:
    """For an APIView. `primed_by_query`: requests alike also present the same query string;
    `primed_by_body_field`: they also name the same value of this field of their JSON body."""

    primed_by_query = False
    primed_by_body_field = ""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        meta = request.META
        parts = [type(self).__name__, *(meta.get(name) or "" for name in KEY_HEADERS)]
        if self.primed_by_query:
            parts.append(meta.get("QUERY_STRING", ""))
        if self.primed_by_body_field:
            parts.append(body_field_peeked(request, self.primed_by_body_field))
        # A digest: the secrets presented are not kept in memory.
        identity = hashlib.blake2b("\0".join(parts).encode(), digest_size=16).digest()
        with versioned_reads_primed(identity):
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
