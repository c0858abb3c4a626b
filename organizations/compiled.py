"""A QuerySet compiled to SQL once per database, then run again with other parameter values.

Why: Django builds and compiles a QuerySet's SQL each time it is evaluated. For a small read on a
hot path (the engine's service locations, the API key of every request) that costs several times
running it: about 0.4 ms of CPU on this machine, against 0.1 ms for the statement itself. The
instances come back as the ORM makes them: the compiler's own converters, `from_db`, and the
`select_related` rows attached.

    LOCATIONS = CompiledQuery(lambda service_id: Location.objects.filter(services=service_id), -1)
    LOCATIONS.fetch(service.pk)

The QuerySet is built with placeholder values, each of which must come back once among the compiled
statement's parameters (checked when compiling): `fetch` puts its values in their places. Choose
placeholders no constant of the query could equal (-1 for an id, "<slug>" for a slug).

Inserts: `CompiledInsertMixin` builds a model's INSERT once per set of columns, and
`insert_with_riders` inserts a new row and the rows written with it (a booking's audit row, its
webhook event and its confirmation email) in one statement on PostgreSQL.
"""

import copy
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery
from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler

M = TypeVar("M", bound=Model)


class _Compiled(NamedTuple):
    sql: str
    params: list[tuple[int | None, Any]]  # each parameter: a placeholder's index, or None and its constant
    compiler: SQLCompiler
    converters: dict[int, Any]
    model: type[Model]
    init_list: list[str]
    start: int
    end: int
    populators: list[Any]


class CompiledQuery(Generic[M]):
    """`build(*placeholders)`'s SQL, compiled on first use per database alias."""

    def __init__(self, build: Callable[..., "QuerySet[M]"], *placeholders: Any):
        self._build = build
        self._placeholders = placeholders
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, using: str) -> _Compiled:
        queryset = self._build(*self._placeholders)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        # Where each value goes: a placeholder's place, or a constant the ORM made a parameter (the
        # `SELECT 1` of an EXISTS). Each placeholder must be there exactly once.
        slots = [self._placeholders.index(param) if param in self._placeholders else None for param in params]
        if sorted(slot for slot in slots if slot is not None) != list(range(len(self._placeholders))):
            raise ValueError(f"the query's parameters {params!r} do not hold its placeholders {self._placeholders!r}")
        # What ModelIterable reads off the compiler after running it (django/db/models/query.py).
        klass_info, select = compiler.klass_info, compiler.select
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        return _Compiled(
            sql=sql,
            params=[(slot, param) for slot, param in zip(slots, params, strict=True)],
            compiler=compiler,
            converters=compiler.get_converters([column for column, *_ in select[: compiler.col_count]]),
            model=klass_info["model"],
            init_list=[column.target.attname for column, *_ in select[start:end]],
            start=start,
            end=end,
            # django-stubs describes Django 6, whose populators also take a fetch mode.
            populators=get_related_populators(klass_info, select, using),  # type: ignore[call-arg]
        )

    def fetch(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> list[M]:
        """The instances the QuerySet built with `values` would give."""
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, [param if slot is None else values[slot] for slot, param in compiled.params])
            rows: Sequence[Sequence[Any]] = cursor.fetchall()
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        found = []
        for row in rows:
            instance = compiled.model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])
            for populator in compiled.populators:
                populator.populate(row, instance)
            found.append(instance)
        return found  # type: ignore[return-value]  # instances of the QuerySet's model, M


@dataclass
class RidingSelect:
    """A SELECT of one row that another statement runs as one of its CTEs, saving its round trip: the
    writer locks of a booking, say, taken in its customer's statement (organizations.services).
    `sql` is constant text with `%s` placeholders for `params`, and `{after}` where the carrying
    statement puts a condition (true) that makes its own work come first. The statement that
    carries it sets `rode` before it runs (an error raised then is the rider's as well as its own);
    one that cannot carry it leaves `rode` False, and its caller runs the SELECT itself."""

    sql: str
    params: list[Any]
    rode: bool = False


class _Insert(NamedTuple):
    sql: str
    compiler: SQLInsertCompiler
    returning_params: Any
    converters: dict[int, Any]


_INSERTS: dict[tuple[str, type, tuple[str, ...], tuple[str, ...]], _Insert | None] = {}


class CompiledInsertMixin:
    """For a model inserted one row at a time on a hot path (a booking, its audit row, its webhook
    event, its email): `save()`'s INSERT, its SQL built once per set of columns.

    Why: Django builds and compiles the INSERT of every save; for a booking's 40 columns that cost
    more than running it. Everything else is `save()`'s own: the model's save() and its signals,
    each field's pre_save (defaults, auto_now_add) and database preparation, and the returned
    columns converted as the compiler converts them. A value that is an expression, a raw save, or
    a backend that cannot return the inserted columns goes through Django's own INSERT.
    """

    def _do_insert(self, manager: Any, using: str, fields: Sequence[Any], returning_fields: Sequence[Any], raw: bool):
        conn = connections[using]
        if raw or not conn.features.can_return_columns_from_insert:
            return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
        values = [field.pre_save(self, True) for field in fields]
        if any(hasattr(value, "resolve_expression") for value in values):
            return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
        key = (using, type(self), tuple(f.attname for f in fields), tuple(f.attname for f in returning_fields))
        try:
            compiled = _INSERTS[key]
        except KeyError:
            compiled = _INSERTS[key] = self._insert_compile(using, fields, returning_fields)
        if compiled is None:  # a field with a placeholder of its own: Django's INSERT each time
            return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
        params = [field.get_db_prep_save(value, connection=conn) for field, value in zip(fields, values, strict=True)]
        riding = _riding.get()
        if riding is not None and riding.riders is None and returning_fields and conn.vendor == "postgresql":
            riding.riders = list(riding.build(cast(Model, self)))  # claimed by this, the first INSERT of the block
            rows = _insert_with_riders(conn, cast(Model, self), compiled, params, returning_fields, riding)
            if rows is not None:
                return rows
        with conn.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            if not returning_fields:
                return []
            rows = [conn.ops.fetch_returned_insert_columns(cursor, compiled.returning_params)]  # type: ignore[attr-defined]
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        return rows

    def _insert_compile(self, using: str, fields: Sequence[Any], returning_fields: Sequence[Any]) -> _Insert | None:
        if any(hasattr(field, "get_placeholder") for field in fields):
            return None
        query = InsertQuery(type(self))
        # A copy: compiling runs each field's pre_save, which must not change this instance's values
        # after they were read for the INSERT (auto_now_add would be a later instant).
        query.insert_values(fields, [cast(Model, copy.copy(self))], raw=False)
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = returning_fields
        [(sql, params)] = compiler.as_sql()
        if len(params) != len(fields):
            return None
        table = type(self)._meta.db_table  # type: ignore[attr-defined]  # a model's
        columns = [field.get_col(table) for field in returning_fields]
        return _Insert(sql, compiler, compiler.returning_params, compiler.get_converters(columns) if columns else {})


# --- A row and the rows that ride with it ---------------------------------------------------------


@dataclass
class _Riding:
    build: Callable[[Any], Sequence[Model]]
    riders: list[Model] | None = None  # built: by the row's INSERT, or after it
    inserted: bool = False  # in the row's own statement


_riding: ContextVar[_Riding | None] = ContextVar("rows_riding", default=None)


def insert_with_riders(create: Callable[[], M], riders: Callable[[M], Sequence[Model]]) -> tuple[M, list[Model]]:
    """`create()` (one new row of a CompiledInsertMixin model, through its manager) and the new rows
    `riders(row)` gives (its audit row, its webhook event, its confirmation email: rows of models
    whose saves nothing else rides on), which may point at the row. On PostgreSQL they are inserted
    by the row's own INSERT statement (data-modifying WITH); elsewhere each is saved after it. Either way each rider is
    saved as `save(force_insert=True)` saves it: its fields' pre_save, pre_save and post_save sent.

    Why: each INSERT is a round trip, and going through save() cost more CPU than the statement; a
    booking and the three rows written with it were four of a create's ten statements. A database
    guard refusing the row refuses the whole statement (nothing of it is written), as before.
    """
    state = _Riding(riders)
    token = _riding.set(state)
    try:
        row = create()
    finally:
        _riding.reset(token)
    if not state.inserted:
        built = state.riders if state.riders is not None else list(riders(row))
        for rider in built:
            rider.save(force_insert=True)
        state.riders = built
    return row, state.riders or []


class _RiderSql(NamedTuple):
    sql: str  # the rider's INSERT, its link to the row a subquery of the row's CTE
    fields: list[Any]  # its inserted fields, the link among them
    link: Any  # its foreign key to the row


_RIDER_SQL: dict[tuple[str, type, tuple[str, ...], str], _RiderSql] = {}


def _rider_sql(conn: Any, rider: Model, fields: list[Any], link: Any, cte: str, row_pk_column: str) -> _RiderSql:
    key = (conn.alias, type(rider), tuple(f.attname for f in fields), link.attname if link is not None else "")
    built = _RIDER_SQL.get(key)
    if built is None:
        quote, meta = conn.ops.quote_name, rider._meta
        placeholders = [f"(SELECT {quote(row_pk_column)} FROM {cte})" if f is link else "%s" for f in fields]
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
            f" VALUES ({', '.join(placeholders)}) RETURNING {quote(meta.pk.column)}"
        )
        built = _RIDER_SQL[key] = _RiderSql(sql, fields, link)
    return built


def _insert_with_riders(
    conn: Any, row: Model, compiled: _Insert, params: list[Any], returning_fields: Sequence[Any], riding: _Riding
) -> list[Any] | None:
    """The row's INSERT with its riders' in one statement; None when a rider cannot ride (a field with
    a placeholder of its own or an expression for a value, its primary key set, more columns returned
    than its key), and the riders are then saved after the row."""
    row_pk = type(row)._meta.pk
    if row_pk not in returning_fields:
        return None
    using, quote = conn.alias, conn.ops.quote_name
    riders: list[tuple[Model, _RiderSql]] = []
    for rider in riding.riders or []:
        meta = rider._meta
        fields: list[Any] = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        links = [f for f in fields if f.many_to_one and f.is_cached(rider) and f.get_cached_value(rider) is row]
        if (
            rider.pk is not None
            or meta.db_returning_fields != [meta.pk]
            or len(links) > 1
            or any(
                hasattr(f, "get_placeholder") or hasattr(getattr(rider, f.attname), "resolve_expression")
                for f in fields
            )
        ):
            return None
        riders.append(
            (rider, _rider_sql(conn, rider, fields, links[0] if links else None, "riding_row", str(row_pk.column)))
        )
    statements, all_params = [f"riding_row AS ({compiled.sql})"], list(params)
    for n, (rider, built) in enumerate(riders):
        pre_save.send(sender=rider.__class__, instance=rider, raw=False, using=using, update_fields=None)
        all_params += [
            f.get_db_prep_save(f.pre_save(rider, True), connection=conn) for f in built.fields if f is not built.link
        ]
        statements.append(f"riding_{n} AS ({built.sql})")
    picks = "".join(f", (SELECT {quote(rider._meta.pk.column)} FROM riding_{n})" for n, (rider, _) in enumerate(riders))
    with conn.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(statements)} SELECT riding_row.*{picks} FROM riding_row", all_params)
        found = cursor.fetchone()
    width = len(returning_fields)
    rows: list[Any] = [tuple(found[:width])]
    if compiled.converters:
        rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
    row_pk_value = rows[0][list(returning_fields).index(row_pk)]
    for (rider, built), rider_pk in zip(riders, found[width:], strict=True):
        setattr(rider, rider._meta.pk.attname, rider_pk)
        if built.link is not None:
            setattr(rider, built.link.attname, row_pk_value)
        rider._state.adding, rider._state.db = False, using
        post_save.send(sender=rider.__class__, instance=rider, created=True, update_fields=None, raw=False, using=using)
    riding.inserted = True
    return rows
