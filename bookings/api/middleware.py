"""Every API path answers with and without a trailing slash, without a redirect.

A 301 to the other spelling would lose a POST's body (clients re-send it as a GET), so the request
is served as if it had been spelled the way its route is: `/api/v1/bookings/` lists like
`/api/v1/bookings`, `/api/v1/locations` like `/api/v1/locations/`.
"""

from functools import lru_cache

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
            request.path_info = served_spelling(request.path_info)
        return self.get_response(request)
