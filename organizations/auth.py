"""DRF authentication by API key, from `Authorization: Bearer`, `x-kordless-key` or `X-Api-Key`."""

from typing import cast

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from organizations.errors import NotAuthenticated
from organizations.keys import api_key_authenticate
from organizations.models import ApiKey

# Every header `presented_secret` reads a key from (what tells one presented key from another).
KEY_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_KORDLESS_KEY", "HTTP_X_API_KEY")


def presented_secret(request: HttpRequest | Request) -> str | None:
    """The key a request presents, or None when it presents none.

    An `Authorization` header is the key's only place once it is sent: one that is not
    `Bearer <key>` (`Basic ...`, an empty bearer) is refused, never passed over for x-kordless-key,
    so a client never acts with a key it did not mean to send.
    """
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticated("Invalid Authorization header: send the key as `Authorization: Bearer <key>`")
        return value.strip()
    return request.META.get("HTTP_X_KORDLESS_KEY") or request.META.get("HTTP_X_API_KEY") or None


def request_api_key(request: Request) -> ApiKey:
    """The key a request authenticated with, in a view behind HasApiKey (which refused any other).

    DRF types `request.auth` as its own Token; here it is always an ApiKey (ApiKeyAuthentication).
    """
    return cast(ApiKey, request.auth)


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        try:
            secret = presented_secret(request)
            if secret is None:
                return None
            key = api_key_authenticate(secret)
        except NotAuthenticated as exc:
            raise exceptions.AuthenticationFailed(exc.detail) from exc
        return AnonymousUser(), key

    def authenticate_header(self, request) -> str:
        return "Bearer"


class HasApiKey(BasePermission):
    """Any live key. Views narrow the kinds with `allowed_key_kinds`.

    A public key is default-deny: it lives in browser code, for anyone to read, so it reaches only
    the views that name it in `allowed_key_kinds` (availability, public create, session tokens); a
    view that names no kinds refuses it (403), whatever else it lets in.

    A view sets `missing_key_message` to the wording its contract uses for a request with no key,
    and `wrong_kind_message` when its contract knows no 403: a key of another kind is then a 401,
    as an invalid key is.
    """

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated(getattr(view, "missing_key_message", "Missing API key"))
        allowed = getattr(view, "allowed_key_kinds", None)
        if allowed is None and key.kind == ApiKey.Kind.PUBLIC:
            allowed = ()
        if allowed is not None and key.kind not in allowed:
            wrong_kind_message = getattr(view, "wrong_kind_message", None)
            if wrong_kind_message:
                raise exceptions.AuthenticationFailed(wrong_kind_message.format(kind=key.kind))
            raise exceptions.PermissionDenied(f"A {key.kind} key may not do this")
        return True
