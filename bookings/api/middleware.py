"""Every API path answers with and without a trailing slash, without a redirect.

A 301 to the other spelling would lose a POST's body (clients re-send it as a GET), so the request
is served as if it had been spelled the way its route is: `/api/v1/bookings/` lists like
`/api/v1/bookings`, `/api/v1/locations` like `/api/v1/locations/`. Both `path_info` and `path` are
rewritten, so that whatever reads the path (an Idempotency-Key's fingerprint, links in an answer)
sees one spelling: a retry in the other spelling replays instead of being refused.

Django's CommonMiddleware (APPEND_SLASH) never redirects an API path either: it only redirects a 404
whose path resolves to nothing, and every path under the API prefixes resolves, to its route or
to the `api-not-found` catch-all.
"""

from functools import lru_cache
from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve

API_PREFIXES = ("/api/", "/bookings/")
NOT_FOUND_NAME = "api-not-found"


def _served(path: str) -> bool:
    try:
        return resolve(path).url_name != NOT_FOUND_NAME
    except Resolver404:
        return False


@lru_cache(maxsize=4096)
def served_spelling(path: str) -> str:
    """`path`, or the same path with the trailing slash added or removed if only that one is served."""
    if path.rstrip("/") == "" or _served(path):
        return path
    other = path[:-1] if path.endswith("/") else f"{path}/"
    return other if _served(other) else path


class OptionalTrailingSlashMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(API_PREFIXES):
            served = served_spelling(request.path_info)
            if served != request.path_info:
                # `path` is the script prefix followed by `path_info`.
                request.path = request.path[: len(request.path) - len(request.path_info)] + served
                request.path_info = served
        return self.get_response(request)


# Paths served by the API alone: DRF with API keys, which reads no session, user or messages.
API_ONLY_PREFIX = "/api/"


def web_only(middleware: type[Any]) -> type[Any]:
    """`middleware`, run for every request but the API's.

    Why: the API authenticates by key and never reads a session, a logged-in user or messages,
    yet Django's session, authentication and message middleware cost every API request about
    0.2 ms of CPU (a session store, a lazy user, a message storage, and their response hooks).
    The pages and the admin, which use them, still get them.
    """

    class WebOnly(middleware):
        def __call__(self, request: HttpRequest) -> HttpResponseBase:
            if request.path_info.startswith(API_ONLY_PREFIX):
                return self.get_response(request)
            return super().__call__(request)

    WebOnly.__name__ = WebOnly.__qualname__ = f"WebOnly{middleware.__name__}"
    return WebOnly


WebOnlySessionMiddleware = web_only(SessionMiddleware)
WebOnlyAuthenticationMiddleware = web_only(AuthenticationMiddleware)
WebOnlyMessageMiddleware = web_only(MessageMiddleware)
