"""Cache entries abandoned together by replacing one version token.

Each entry carries the token it was computed under, and a lookup reads the token and the entry
in one round trip (`get_many`): the entry counts only if its token is the current one. Replacing
the token is therefore the whole invalidation, whatever the number of entries, and an entry
stored late under an old token (a reader racing a writer) is simply never used.

Replacement happens at once and again when the current transaction commits: a reader between a
write and its commit may store the old state under the intermediate token, which the second
replacement abandons. A cache outage is logged and costs speed, never an answer.
"""

import logging
import uuid
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


class CacheUnavailable(Exception):
    """The cache could not be read: compute, and do not store."""


def versioned_get(version_key: str, entry_key: str) -> tuple[str, Any]:
    """The current token, and the entry's value when it was stored under that token (else None)."""
    return versioned_get_many((version_key,), entry_key)


def versioned_get_many(version_keys: tuple[str, ...], entry_key: str) -> tuple[str, Any]:
    """`versioned_get` of an entry that depends on several versions (each replaced by its own writes):
    the current tokens, as one, and the entry's value when it was stored under all of them (else None)."""
    try:
        found = cache.get_many([*version_keys, entry_key])
        missing = [key for key in version_keys if found.get(key) is None]
        for key in missing:
            cache.add(key, uuid.uuid4().hex, timeout=None)  # two first readers: one token wins
        if missing:
            found.update(cache.get_many(missing))
            return " ".join(str(found.get(key)) for key in version_keys), None
    except Exception as exc:  # noqa: BLE001
        logger.exception("cache unreachable; computing")
        raise CacheUnavailable() from exc
    version = " ".join(found[key] for key in version_keys)
    entry = found.get(entry_key)
    if entry is not None and entry[0] == version:
        return version, entry[1]
    return version, None


def versioned_set(entry_key: str, version: str, value: Any, timeout: int) -> None:
    try:
        cache.set(entry_key, (version, value), timeout=timeout)
    except Exception:  # noqa: BLE001
        logger.exception("cache unreachable; %s not stored", entry_key)


def _replace(version_keys: tuple[str, ...]) -> None:
    try:
        cache.set_many({key: uuid.uuid4().hex for key in version_keys}, timeout=None)
    except Exception:  # noqa: BLE001 - entries still expire with their own timeouts
        logger.exception("cache unreachable; %s not replaced", ", ".join(version_keys))


def version_replace(*version_keys: str) -> None:
    """Abandon every entry stored under these tokens, now and once the transaction commits."""
    if not version_keys:
        return
    _replace(version_keys)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _replace(version_keys))
