"""API keys: issue, authenticate, revoke. Secrets are random, shown once, stored as SHA-256."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from organizations.errors import NotAuthenticated
from organizations.models import ApiKey, Customer, Organization

# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *,
    kind: str,
    organizations: list[Organization],
    customer: Customer | None = None,
    name: str = "",
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is not stored and cannot be shown again."""
    secret = ApiKey.PREFIXES[ApiKey.Kind(kind)] + secrets.token_urlsafe(32)
    key = ApiKey(
        kind=kind,
        name=name,
        customer=customer,
        expires_at=expires_at,
        prefix=secret[:12],
        secret_hash=hash_secret(secret),
    )
    key.full_clean(exclude=["secret_hash"])
    key.save()
    key.organizations.set(organizations)
    return key, secret


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(secret: str) -> ApiKey:
    """The live key for `secret`, or NotAuthenticated saying why not."""
    secret = secret.strip()
    keys = ApiKey.objects.filter(secret_hash=hash_secret(secret))
    if secret.startswith(ApiKey.PREFIXES[ApiKey.Kind.CUSTOMER]):
        # Only a customer key acts as its customer; the join costs every other request ~0.25 ms.
        keys = keys.select_related("customer")
    key = keys.first()
    if key is None:
        raise NotAuthenticated("Invalid API key")
    now = timezone.now()
    if key.revoked_at is not None:
        raise NotAuthenticated("API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise NotAuthenticated("API key has expired")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def key_organization_ids(api_key: ApiKey) -> set[int]:
    """Organizations a key may act for (cached on the instance: asked several times per request)."""
    cached = getattr(api_key, "_organization_ids", None)
    if cached is None:
        cached = set(api_key.organizations.values_list("id", flat=True))
        api_key._organization_ids = cached
    return cached
