"""How psycopg keeps the statements it has converted: one knob Django has no option for.

psycopg turns a statement's `%s` placeholders into PostgreSQL's `$1 ... $n` and keeps the result per
statement text (an LRU of 128 texts), but only for statements of at most 50 parameters
(`psycopg._queries.MAX_CACHED_STATEMENT_PARAMS`). A booking written with its riders
(organizations.compiled.insert_with_riders: the booking, its audit row, its webhook event and its
confirmation email) has about 70, so every create split its 1.8 KB of SQL again with a regular
expression: about 150 µs of CPU in the request, measured. That text is the same for every booking
of one shape, so it belongs in the cache; a bulk insert of many rows (a new text for each number of
rows, hundreds of parameters) stays out of it.
"""

from typing import Any

CACHED_STATEMENT_PARAMS = 128


def statement_cache_widen(params: int = CACHED_STATEMENT_PARAMS) -> None:
    """Let psycopg keep the conversion of statements of up to `params` parameters (never fewer than
    its own limit). A psycopg without the limit (renamed or gone) is left as it is."""
    try:
        from psycopg import _queries
    except ImportError:  # SQLite only: no psycopg installed
        return
    queries: Any = _queries
    current = getattr(queries, "MAX_CACHED_STATEMENT_PARAMS", None)
    if isinstance(current, int) and current < params:
        queries.MAX_CACHED_STATEMENT_PARAMS = params
