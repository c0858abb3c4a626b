"""Writer locks: two services that could take the same seat never check-then-write at once.

On PostgreSQL each bookable resource has a transaction-scoped advisory lock
(`pg_advisory_xact_lock`), taken in one global order (sorted keys) so writers cannot deadlock;
a writer that waits longer than `BOOKING_LOCK_TIMEOUT_MS` gives up with 409 and `Retry-After`.
The exclusion constraints stay the last word for capacity-1 resources; the locks also cover
what constraints cannot see (holds, group seats).

On SQLite, `transaction_mode=IMMEDIATE` makes every write transaction take the database lock at
BEGIN, so writers are already serialized and these functions do nothing.
"""

import zlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction

from organizations.compiled import RidingSelect
from organizations.errors import Conflict

LOCK_RETRY_AFTER_SECONDS = 1
# The locks as one row of another statement: the timeout set and the carrying statement's own work
# done first ({after}; both are the array's argument), then each lock in the array's (sorted)
# order, all of them taken before the count can be given.
LOCKS_RIDING_SQL = (
    "SELECT count(pg_advisory_xact_lock(k)) FROM unnest("
    "CASE WHEN set_config('lock_timeout', %s, true) IS NOT NULL{after} THEN %s::bigint[] END) AS k"
)
T = TypeVar("T")


def lock_key(kind: str, *parts: object) -> str:
    """A stable name for a lockable resource, e.g. `staff:12` or `group:3:1:2026-03-25T14:00:00+00:00`."""
    return ":".join([kind, *(str(p) for p in parts)])


def _lock_id(key: str) -> int:
    # A stable signed 64-bit id per key: the CRC of the key in the high half, its length-salted
    # CRC in the low half, so distinct keys practically never share a lock.
    high = zlib.crc32(key.encode())
    low = zlib.crc32(key.encode()[::-1] + b"#")
    value = (high << 32) | low
    return value - (1 << 64) if value >= 1 << 63 else value


def resources_lock(keys: Iterable[str]) -> None:
    """Take the advisory locks for `keys` until the current transaction ends.

    Must run inside `transaction.atomic()`. Keys are taken in sorted order; call once per
    resource set, or with keys greater than any already held, to keep the order global.
    A lock not granted within the timeout is a Conflict (409, Retry-After) that must leave the
    caller's atomic block, which then rolls back (no savepoint of its own: every caller's does).
    """
    ids = _lock_ids(keys)
    if not ids:
        return
    # One round trip: the timeout, then each lock in sorted order. The statements run one after the
    # other; every value is an int computed here, so the text is built without parameters (which
    # keeps several statements in one call possible with server-side binding too).
    sql = f"SET LOCAL lock_timeout = {_timeout_ms():d};" + "".join(
        f" SELECT pg_advisory_xact_lock({i:d});" for i in ids
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    except OperationalError as exc:  # lock_timeout or deadlock detected
        raise _refused() from exc


def resources_lock_riding(keys: Iterable[str], statement: Callable[[RidingSelect | None], T]) -> T:
    """`statement(riding)`, with `resources_lock(keys)` taken in it when it carries `riding`
    (organizations.compiled.RidingSelect: one round trip fewer); else the locks are taken after it.

    For a first statement of a transaction that need not wait for the locks: a booking's customer,
    found or created before the locks are taken, as every other path does it (one order for all
    writers: none can hold the locks while waiting for a customer another is inserting). The same
    rules as `resources_lock`: inside `transaction.atomic()`, once, and a lock not granted in time
    is a Conflict that must leave the caller's atomic block.
    """
    ids = _lock_ids(keys)
    if not ids:
        return statement(None)
    riding = RidingSelect(LOCKS_RIDING_SQL, [str(_timeout_ms()), ids])
    try:
        result = statement(riding)
    except OperationalError as exc:
        if riding.rode:  # the locks were in it: lock_timeout or deadlock detected, as in resources_lock
            raise _refused() from exc
        raise
    if not riding.rode:
        resources_lock(keys)
    return result


def _lock_ids(keys: Iterable[str]) -> list[int]:
    """The locks' ids in their global order; none off PostgreSQL (SQLite's writers are serialized)."""
    if connection.vendor != "postgresql":
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("resources_lock needs an open transaction")
    return sorted({_lock_id(k) for k in keys})


def _timeout_ms() -> int:
    return int(getattr(settings, "BOOKING_LOCK_TIMEOUT_MS", 5000))


def _refused() -> Conflict:
    # The transaction is aborted: the caller's atomic block can only roll back (Conflict leaves it).
    transaction.set_rollback(True)
    return Conflict("Another request is booking this time slot; try again", retry_after=LOCK_RETRY_AFTER_SECONDS)
