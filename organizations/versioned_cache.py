"""Cache entries abandoned together by replacing one version token.

Each entry carries the token it was computed under, and a lookup reads the token and the entry
in one round trip (`get_many`): the entry counts only if its token is the current one. Replacing
the token is therefore the whole invalidation, whatever the number of entries, and an entry
stored late under an old token (a reader racing a writer) is simply never used.

A write outside a transaction replaces the tokens at once. Inside one, they are replaced when it
commits, once however many of its writes replace them (other readers meanwhile rightly see the
state before it); and should the transaction itself read one of them first, that read replaces it
at once, so the transaction never takes an entry stored before its own writes. A reader between
the two replacements may store state under the intermediate token (the transaction's uncommitted
state, even), which the second abandons; a transaction that rolls back replaces nothing it had
not read. A cache outage is logged and costs
speed, never an answer.

A request makes several such lookups one after the other (its key, its organization, its service,
its answer), each a round trip. Inside `versioned_reads_primed(identity)`, what the last block of
the same identity read is read first, in one round trip, and the lookups take their values from
there (what was not read then is read as before). Only when each value is read changes, a little
earlier in the same request, never which value counts: every entry is still checked against its
tokens, read in the same round trip, and a block's own writes drop what it had read of them.
"""

import logging
import uuid
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)
# Per identity, the keys its last primed block read: a hint only, bounded.
_READ_SETS: dict[Hashable, tuple[str, ...]] = {}
READ_SETS_MAX = 2048


@dataclass
class _Primed:
    values: dict[str, Any]  # None: read, and absent
    read: list[str] = field(default_factory=list)


_primed: ContextVar[_Primed | None] = ContextVar("versioned_reads_primed", default=None)


@contextmanager
def versioned_reads_primed(identity: Hashable) -> Iterator[None]:
    """Versioned lookups inside the block start from one round trip: what the last block of this
    `identity` read (a request's kind and what it names, say)."""
    keys = _READ_SETS.get(identity, ())
    values: dict[str, Any] = {}
    if keys:
        try:
            found = cache.get_many(keys)
        except Exception:  # noqa: BLE001 - the lookups will meet the outage themselves
            logger.exception("cache unreachable; not primed")
        else:
            values = {key: found.get(key) for key in keys}
    state = _Primed(values)
    token = _primed.set(state)
    try:
        yield
    finally:
        _primed.reset(token)
        if state.read:
            _read_set_remember(identity, tuple(dict.fromkeys(state.read)))


def _read_set_remember(identity: Hashable, keys: tuple[str, ...]) -> None:
    if len(_READ_SETS) >= READ_SETS_MAX and identity not in _READ_SETS:
        try:
            del _READ_SETS[next(iter(_READ_SETS))]  # the oldest
        except (KeyError, RuntimeError, StopIteration):  # another thread evicted it first
            pass
    _READ_SETS[identity] = keys


def versioned_reads_are_primed() -> bool:
    """Whether the current code runs inside `versioned_reads_primed`."""
    return _primed.get() is not None


def _get_many(version_keys: tuple[str, ...], entry_key: str) -> dict[str, Any]:
    """`cache.get_many` of the tokens and the entry, taking what the primed block already read. An
    entry is taken once: the caller may change the value in place, so a second lookup reads it again."""
    keys = [*version_keys, entry_key]
    state = _primed.get()
    if state is None:
        return cache.get_many(keys)
    state.read.extend(keys)
    found = {key: state.values[key] for key in keys if state.values.get(key) is not None}
    rest = [key for key in keys if key not in state.values]
    state.values.pop(entry_key, None)
    if rest:
        found.update(cache.get_many(rest))
    return found


def _forget(keys: Iterable[str]) -> None:
    """A write: what the primed block read of these keys is no longer what the cache holds."""
    state = _primed.get()
    if state is not None:
        for key in keys:
            state.values.pop(key, None)


class CacheUnavailable(Exception):
    """The cache could not be read: compute, and do not store."""


def versioned_get(version_key: str, entry_key: str) -> tuple[str, Any]:
    """The current token, and the entry's value when it was stored under that token (else None)."""
    return versioned_get_many((version_key,), entry_key)


def versioned_get_many(version_keys: tuple[str, ...], entry_key: str) -> tuple[str, Any]:
    """`versioned_get` of an entry that depends on several versions (each replaced by its own writes):
    the current tokens, as one, and the entry's value when it was stored under all of them (else None)."""
    try:
        _written_replace(version_keys)
        found = _get_many(version_keys, entry_key)
        missing = [key for key in version_keys if found.get(key) is None]
        _forget(missing)
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
    _forget([entry_key])
    try:
        cache.set(entry_key, (version, value), timeout=timeout)
    except Exception:  # noqa: BLE001
        logger.exception("cache unreachable; %s not stored", entry_key)


def _replace(version_keys: tuple[str, ...]) -> None:
    _forget(version_keys)
    try:
        cache.set_many({key: uuid.uuid4().hex for key in version_keys}, timeout=None)
    except Exception:  # noqa: BLE001 - entries still expire with their own timeouts
        logger.exception("cache unreachable; %s not replaced", ", ".join(version_keys))


PENDING_SCANNED = 32  # a write looks for its replacement among the transaction's latest callbacks


class _AtCommit:
    """A transaction's replacement of some tokens, as its on_commit callback. Until the transaction
    ends, its presence there says that the transaction wrote what they cover (a savepoint rolled
    back takes it away with the writes)."""

    def __init__(self, version_keys: tuple[str, ...]):
        self.version_keys = frozenset(version_keys)
        self.replaced_at_once = False

    def __call__(self) -> None:
        _replace(tuple(self.version_keys))


def version_replace(*version_keys: str) -> None:
    """Abandon every entry stored under these tokens: now outside a transaction, else once it commits
    (and at once should it read them first)."""
    if not version_keys:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _replace(version_keys)
        return
    _forget(version_keys)
    # Due at commit already? Then a transaction of many writes replaces each version once. Django
    # drops a callback only when a savepoint it was registered in rolls back, and only one still
    # open can: this write, made inside every open savepoint, would be rolled back with it.
    keys = frozenset(version_keys)
    for _savepoints, callback, _robust in connection.run_on_commit[-PENDING_SCANNED:]:
        if isinstance(callback, _AtCommit) and not callback.replaced_at_once and keys <= callback.version_keys:
            return  # (one replaced at once already served the reads since; this write needs its own)
    transaction.on_commit(_AtCommit(version_keys))


def _written_replace(version_keys: Iterable[str]) -> None:
    """Before a read inside a transaction: replace at once the tokens among `version_keys` its own
    writes replace at commit (Django keeps the transaction's on_commit callbacks in run_on_commit)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return
    wanted = set(version_keys)
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _AtCommit) and not callback.replaced_at_once and wanted & callback.version_keys:
            callback.replaced_at_once = True
            _replace(tuple(callback.version_keys))
