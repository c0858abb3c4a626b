"""The availability engine's hottest reads, written as SQL once (used by bookings/availability.py).

Why: these reads run for every availability answer that is not cached and under the locks of
every booking and hold. Through the ORM each one cost 1.3-2 ms of CPU on the 2-core machine,
nearly all of it building and compiling the query; the same statement as SQL costs about
0.3 ms. They are plain SELECTs that SQLite and PostgreSQL both run. Values go in through the
backend's own adapters and come back through its own converters (SQLite keeps datetimes and
times as text), so each function returns exactly the rows `values_list` returned before.

The engine reads a whole schedule in one statement, `schedule_rows`: six SELECTs as one UNION ALL,
the service's active staff, then the hours, date overrides, time off, bookings and holds of the
locations and of the staff it schedules. Each round trip costs about 0.3 ms of client CPU plus the
server's, and the engine runs them under the booking locks; so the five reads do not wait for the
client to read the staff first: they select their staff (host and team) from the staff read's own
CTE. Each read is built once and both runs it alone and as its branch of the union, so the two
cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time
from operator import itemgetter
from typing import Any, NamedTuple, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.expressions import Col

from bookings.models import ACTIVE_STATUSES, Booking
from holds.models import Hold
from organizations.models import DateOverride, Service, StaffMember, Team, TimeOff, WorkingHours

# A read: its SELECT, its parameters, and the model field of each column whose values the backend
# may convert (None: an id, a weekday, a count or a flag, which no backend converts; an integer in the union).
Read = tuple[str, list[Any], list["Field[Any, Any] | None"]]
# A row as the database returns it (values of mixed types, in the read's column order).
Row = tuple[Any, ...]
# How to convert one column of a read: (its index, a function of its value).
Conversion = tuple[int, Callable[[Any], Any]]


class _Chosen(NamedTuple):
    """The staff the engine schedules, selected in the union from its staff read: those in the read's
    team (all, without one) and, given a host, only the host (see `_chosen`)."""

    test: str  # what follows the column: " IN (SELECT ...)"
    params: list[Any]


# Whose rows a read returns: these staff ids, or (in the union only) those the staff read chose.
Staff = Sequence[int] | _Chosen

# The staff read's tag in the union (ScheduleRows.staff): first, as the other reads select from its CTE.
_STAFF = 0


# Fields whose converted values are immutable and equal for equal database values: a statement's
# repeated values are converted once.
_MEMOIZED = frozenset(("DateTimeField", "DateField", "TimeField", "BooleanField", "UUIDField"))


class _Plan(NamedTuple):
    """How to convert one field's values on one backend: Django's converters (`slow`), and `parse`
    for the values worth converting once per statement (None: each value goes to `slow`)."""

    slow: Callable[[Any], Any]
    parse: Callable[[Any], Any] | None


# Each field's plan by backend (and connection time zone), looked up once: asking Django for a
# field's converters cost about a tenth of a small window's CPU.
_PLANS: dict[tuple[str, str | None, Field[Any, Any]], _Plan | None] = {}


def _plan(conn: BaseDatabaseWrapper, field: Field[Any, Any]) -> _Plan | None:
    key = (conn.vendor, conn.timezone_name, field)
    try:
        return _PLANS[key]
    except KeyError:
        pass
    column = field.get_col(field.model._meta.db_table)
    converters = conn.ops.get_db_converters(column) + column.get_db_converters(conn)
    plan = None
    if converters:
        slow = _chain(conn, column, converters)
        plan = _Plan(slow, _sqlite_parse(conn, field, slow))
    _PLANS[key] = plan
    return plan


def _sqlite_parse(conn: BaseDatabaseWrapper, field: Field[Any, Any], slow: Callable[[Any], Any]) -> Any:
    """What converts `field`'s values once per statement on SQLite, faster for its text datetimes,
    dates and times; None: no memo (another backend, or a field that is not one of these).

    Why: SQLite keeps them as ISO text, and Django's converters (a regex, then make_aware) cost about
    3 us a value: two thirds of a 10,000-bookings schedule's CPU. The C `fromisoformat` parses the
    text Django wrote to the same value, and one statement's values repeat (bookings on the hour), so
    each text is parsed once per statement (as each boolean and uuid is converted once). Anything else
    (not text, or text it refuses) goes to `slow`.
    """
    internal = field.get_internal_type()
    if conn.vendor != "sqlite" or hasattr(field, "from_db_value") or internal not in _MEMOIZED:
        return None
    if internal == "DateTimeField" and settings.USE_TZ and conn.timezone_name == "UTC":

        def parse(text: str) -> Any:
            parsed = datetime.fromisoformat(text)  # naive, in UTC, as Django writes it
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else slow(text)

        return parse
    if internal == "DateField":
        return date.fromisoformat
    if internal == "TimeField":
        return time.fromisoformat
    return slow


def _memoized(parse: Callable[[Any], Any], slow: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`parse` (text) or `slow` (anything else), each value converted once: one memo per statement."""
    memo: dict[Any, Any] = {None: None}

    def convert(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            pass
        try:
            converted = parse(value) if isinstance(value, str) else slow(value)
        except ValueError:
            converted = slow(value)
        memo[value] = converted
        return converted

    return convert


def _conversions(conn: BaseDatabaseWrapper, fields: Sequence[Field[Any, Any] | None]) -> list[Conversion]:
    """(index, converter) of the columns that need converting (what the ORM's compiler applies), for
    one statement's rows."""
    conversions: list[Conversion] = []
    for index, field in enumerate(fields):
        plan = _plan(conn, field) if field is not None else None
        if plan is not None:
            conversions.append((index, plan.slow if plan.parse is None else _memoized(plan.parse, plan.slow)))
    return conversions


def _chain(conn: BaseDatabaseWrapper, column: Col, converters: list[Callable[..., Any]]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        for converter in converters:
            value = converter(value, column, conn)
        return value

    return convert


def _convert(row: Sequence[Any], conversions: list[Conversion]) -> Row:
    values = list(row)
    for index, convert in conversions:
        values[index] = convert(values[index])
    return tuple(values)


def _select(sql: str, params: Sequence[Any], fields: Sequence[Field[Any, Any] | None]) -> list[Row]:
    conn = connections[DEFAULT_DB_ALIAS]  # not the `connection` proxy: a thread-local lookup per use
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[Row] = cursor.fetchall()
    conversions = _conversions(conn, fields)
    if not conversions:
        return rows
    return [_convert(row, conversions) for row in rows]


def _in(column: str, values: Iterable[Any]) -> tuple[str, list[Any]]:
    values = list(values)
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def _chosen(conn: BaseDatabaseWrapper, host_id: int | None) -> _Chosen:
    """Built once per union, with its backend: the read builders have no connection of their own, and
    the `connection` proxy costs a thread-local lookup per use."""
    sql = f"SELECT c0 FROM {_cte(_STAFF)} WHERE c2 = 1"  # c0: the id, c2: in the team
    params: list[Any] = []
    if host_id is not None:
        sql += " AND c0 = %s"
        params.append(host_id)
    if conn.vendor == "postgresql":
        # PostgreSQL uses no index for `IN (subquery)` under an OR: it filters a sequential scan (with
        # 300,000 bookings the statement took 130 ms instead of 2). An array of the subquery's ids is
        # computed once, as a parameter, and leaves booking_staff_start usable. SQLite uses its
        # indexes for `IN (subquery)`.
        return _Chosen(f" = ANY(ARRAY({sql}))", params)
    return _Chosen(f" IN ({sql})", params)


def _staff_in(column: str, staff: Staff) -> tuple[str, list[Any]]:
    """`column` among these staff: a list of ids, or those the union's staff read chose."""
    if isinstance(staff, _Chosen):
        return column + staff.test, staff.params
    return _in(column, staff)


def _owners(staff: Staff, location_ids: Sequence[int], prefix: str = "") -> tuple[str, list[Any]]:
    staff_sql, staff_params = _staff_in(f"{prefix}staff_id", staff)
    location_sql, location_params = _in(f"{prefix}location_id", location_ids)
    return f"({staff_sql} OR {location_sql})", staff_params + location_params


def _moment(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _f(model: type[Model], name: str) -> Field[Any, Any]:
    return cast("Field[Any, Any]", model._meta.get_field(name))  # a concrete column, never a reverse relation


def _staff(service_id: int, team_id: int | None) -> Read:
    """The service's active staff: (id, uuid, in_team), in_team 1 or 0: an integer on every backend (not
    PostgreSQL's boolean EXISTS), so that it unites with the union's integer slots."""
    params: list[Any] = []
    in_team = "1"
    if team_id is not None:
        in_team = (
            f"CASE WHEN EXISTS (SELECT 1 FROM {Team.members.through._meta.db_table} tm"
            " WHERE tm.team_id = %s AND tm.staffmember_id = s.id) THEN 1 ELSE 0 END"
        )
        params.append(team_id)
    sql = (
        f"SELECT s.id, s.uuid, {in_team} FROM {StaffMember._meta.db_table} s"
        f" INNER JOIN {Service.staff.through._meta.db_table} ss ON ss.staffmember_id = s.id"
        " WHERE ss.service_id = %s AND s.active = %s"
    )
    return sql, [*params, service_id, True], [None, _f(StaffMember, "uuid"), None]


def _by_id(staff: Iterable[Row]) -> list[Row]:
    """The staff read's rows by id, in_team a bool."""
    return sorted(((staff_id, staff_uuid, bool(in_team)) for staff_id, staff_uuid, in_team in staff), key=itemgetter(0))


def staff_rows(service: Service, team: Team | None) -> list[Row]:
    """(id, uuid, in_team) of the service's active staff, by id; in_team is True without a team."""
    return _by_id(_select(*_staff(service.pk, team.pk if team is not None else None)))


def _working_hours(staff: Staff, location_ids: Sequence[int]) -> Read:
    owners, params = _owners(staff, location_ids)
    sql = (
        f"SELECT staff_id, location_id, weekday, start_time, end_time FROM {WorkingHours._meta.db_table} WHERE {owners}"
    )
    return sql, params, [None, None, None, _f(WorkingHours, "start_time"), _f(WorkingHours, "end_time")]


def working_hours_rows(staff_ids: Sequence[int], location_ids: Sequence[int]) -> list[Row]:
    """(staff_id, location_id, weekday, start_time, end_time) of these owners."""
    return _select(*_working_hours(staff_ids, location_ids))


def _date_overrides(staff: Staff, location_ids: Sequence[int], first: date, last: date) -> Read:
    owners, params = _owners(staff, location_ids)
    sql = (
        f"SELECT staff_id, location_id, date, start_time, end_time FROM {DateOverride._meta.db_table}"
        f" WHERE {owners} AND date >= %s AND date <= %s"
    )
    adapt = connection.ops.adapt_datefield_value
    fields: list[Field[Any, Any] | None] = [
        None,
        None,
        _f(DateOverride, "date"),
        _f(DateOverride, "start_time"),
        _f(DateOverride, "end_time"),
    ]
    return sql, [*params, adapt(first), adapt(last)], fields


def date_override_rows(staff_ids: Sequence[int], location_ids: Sequence[int], first: date, last: date) -> list[Row]:
    """(staff_id, location_id, date, start_time, end_time) of these owners from `first` to `last`."""
    return _select(*_date_overrides(staff_ids, location_ids, first, last))


def _time_off(staff: Staff, location_ids: Sequence[int], lo: datetime, hi: datetime) -> Read:
    owners, params = _owners(staff, location_ids)
    sql = (
        f"SELECT staff_id, location_id, starts_at, ends_at FROM {TimeOff._meta.db_table}"
        f" WHERE {owners} AND starts_at < %s AND ends_at > %s"
    )
    return sql, [*params, _moment(hi), _moment(lo)], [None, None, _f(TimeOff, "starts_at"), _f(TimeOff, "ends_at")]


def time_off_rows(staff_ids: Sequence[int], location_ids: Sequence[int], lo: datetime, hi: datetime) -> list[Row]:
    """(staff_id, location_id, starts_at, ends_at) of these owners' time off overlapping (lo, hi)."""
    return _select(*_time_off(staff_ids, location_ids, lo, hi))


# The active statuses as constants in the SQL, not parameters: with prepared statements PostgreSQL
# may plan a statement once for any parameters (a generic plan), and only constants let it prove
# that the read matches the active-bookings indexes (the exclusion constraints' GiST indexes).
_ACTIVE = ", ".join(f"'{status}'" for status in ACTIVE_STATUSES if str(status).replace("_", "").isalpha())
assert _ACTIVE.count(",") == len(ACTIVE_STATUSES) - 1, "a status that is not a plain word"


def _bookings(staff: Staff, location_ids: Sequence[int], lo: datetime, hi: datetime, ignore_id: int | None) -> Read:
    staff_sql, staff_params = _staff_in("staff_id", staff)
    location_sql, location_params = _in("location_id", location_ids)
    sql = (
        "SELECT staff_id, location_id, blocked_start, blocked_end, is_group, service_id"
        f" FROM {Booking._meta.db_table}"
        f" WHERE (({staff_sql} AND staff_id IS NOT NULL) OR ({location_sql} AND staff_id IS NULL AND NOT is_group))"
        f" AND status IN ({_ACTIVE}) AND blocked_start < %s AND blocked_end > %s"
    )
    params = [*staff_params, *location_params, _moment(hi), _moment(lo)]
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        # The same overlap as a range, which the GiST indexes of the two exclusion constraints answer
        # from both ends: a window's cost does not grow with the years of bookings before it (the
        # btree on (staff, blocked_start) reads every earlier booking of each staff member).
        sql += " AND TSTZRANGE(blocked_start, blocked_end, '[)') && TSTZRANGE(%s, %s, '[)')"
        params += [_moment(lo), _moment(hi)]
    if ignore_id is not None:
        sql += " AND id <> %s"
        params.append(ignore_id)
    fields: list[Field[Any, Any] | None] = [
        None,
        None,
        _f(Booking, "blocked_start"),
        _f(Booking, "blocked_end"),
        _f(Booking, "is_group"),
        None,
    ]
    return sql, params, fields


def booking_rows(
    staff_ids: Sequence[int], location_ids: Sequence[int], lo: datetime, hi: datetime, ignore_id: int | None
) -> list[Row]:
    """(staff_id, location_id, blocked_start, blocked_end, is_group, service_id) of active bookings
    overlapping (lo, hi): of these staff, or of these locations with no staff (not group sessions)."""
    return _select(*_bookings(staff_ids, location_ids, lo, hi, ignore_id))


def _holds(
    staff: Staff,
    location_ids: Sequence[int],
    now: datetime,
    lo: datetime,
    hi: datetime,
    ignore_id: int | None,
) -> Read:
    owners, params = _owners(staff, location_ids, prefix="h.")
    sql = (
        "SELECT h.staff_id, h.location_id, h.service_id, sv.kind, h.starts_at, h.blocked_start, h.blocked_end,"
        f" h.party_size FROM {Hold._meta.db_table} h INNER JOIN {Service._meta.db_table} sv ON sv.id = h.service_id"
        f" WHERE {owners} AND h.status = %s AND h.expires_at > %s AND h.blocked_start < %s AND h.blocked_end > %s"
    )
    params = [*params, str(Hold.Status.ACTIVE), _moment(now), _moment(hi), _moment(lo)]
    if ignore_id is not None:
        sql += " AND h.id <> %s"
        params.append(ignore_id)
    times = [_f(Hold, "starts_at"), _f(Hold, "blocked_start"), _f(Hold, "blocked_end")]
    return sql, params, [None, None, None, _f(Service, "kind"), *times, None]


def hold_rows(
    staff_ids: Sequence[int],
    location_ids: Sequence[int],
    now: datetime,
    lo: datetime,
    hi: datetime,
    ignore_id: int | None,
) -> list[Row]:
    """(staff_id, location_id, service_id, service kind, starts_at, blocked_start, blocked_end,
    party_size) of active, unexpired holds of these owners overlapping (lo, hi)."""
    return _select(*_holds(staff_ids, location_ids, now, lo, hi, ignore_id))


class ScheduleRows(NamedTuple):
    """The six reads' rows, each list exactly what its single read (`staff_rows`, `working_hours_rows`, ...)
    returns; the five after the staff those of the staff the engine schedules (see `schedule_rows`)."""

    staff: list[Row]
    working_hours: list[Row]
    date_overrides: list[Row]
    time_off: list[Row]
    bookings: list[Row]
    holds: list[Row]


def _cte(tag: int) -> str:
    return f"r{tag}"


# The union's columns after the read's tag: typed slots, as many of each kind as the widest read
# needs (a hold has four integers, its owner's two included, and three timestamps).
_SLOTS = ("int",) * 4 + ("date",) + ("time",) * 2 + ("timestamp",) * 3 + ("bool", "text", "uuid")
_SLOTS_OF = {
    kind: [slot for slot, slot_kind in enumerate(_SLOTS) if slot_kind == kind] for kind in dict.fromkeys(_SLOTS)
}
# The field whose database type an empty slot's NULL is cast to: PostgreSQL types a bare NULL as
# text, and text does not unite with a date, a timestamp or a uuid of another branch.
_NULL_AS: dict[str, Field[Any, Any]] = {
    "int": models.BigIntegerField(),
    "date": models.DateField(),
    "time": models.TimeField(),
    "timestamp": models.DateTimeField(),
    "bool": models.BooleanField(),
    "text": models.TextField(),
    "uuid": models.UUIDField(),
}


# Each backend's typed NULL of every slot, built once: the same strings for every union, and
# `cast_db_type` (it copies the field's __dict__) cost about 6% of a schedule's client CPU.
_NULLS: dict[str, tuple[str, ...]] = {}


def _nulls(conn: BaseDatabaseWrapper) -> tuple[str, ...]:
    nulls = _NULLS.get(conn.vendor)
    if nulls is None:
        nulls = _NULLS[conn.vendor] = tuple(f"CAST(NULL AS {_NULL_AS[kind].cast_db_type(conn)})" for kind in _SLOTS)
    return nulls


def _kind(field: Field[Any, Any] | None) -> str:
    if field is None or isinstance(field, models.IntegerField | models.ForeignKey):
        return "int"
    if isinstance(field, models.DateTimeField):  # before DateField, its parent
        return "timestamp"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.TimeField):
        return "time"
    if isinstance(field, models.BooleanField):
        return "bool"
    if isinstance(field, models.CharField):
        return "text"
    if isinstance(field, models.UUIDField):
        return "uuid"
    raise TypeError(f"no union slot for {field!r}")


# How to take one read's row back out of a union row: pick its columns, then convert them.
Split = tuple[Callable[[Row], Any], list[Conversion]]


# Each union's SQL and how to take its rows apart, by backend and its reads' SQL (which differs
# only by the shape of the request: a host or not, a team or not, how many locations): building
# them cost about a tenth of a small window's CPU. Bounded: a few shapes in practice.
# How to take one read's row out of a union row, before converting: its columns' getter and fields.
Pick = tuple[Callable[[Row], Any], Sequence["Field[Any, Any] | None"]]
_UNIONS: dict[tuple[str, tuple[str, ...]], tuple[str, list[Pick]]] = {}
_UNIONS_MAX = 512


def _union(conn: BaseDatabaseWrapper, reads: Sequence[Read]) -> tuple[str, list[Any], list[Split]]:
    """One UNION ALL of `reads`, tagged by position, and for each read how to take its rows back out.

    Each read keeps its own SQL as a CTE (`_cte(tag)`, names c0, c1, ... for its columns), which the
    reads after it may select from; its branch puts every column in the next free slot of its kind
    (so the owner, staff_id and location_id, in the first two).
    """
    key = (conn.vendor, tuple(sql for sql, _params, _fields in reads))
    built = _UNIONS.get(key)
    if built is None:
        built = _union_build(conn, reads)
        if len(_UNIONS) >= _UNIONS_MAX:
            _UNIONS.clear()
        _UNIONS[key] = built
    sql, picks = built
    params = [param for _sql, read_params, _fields in reads for param in read_params]
    return sql, params, [(pick, _conversions(conn, fields)) for pick, fields in picks]


def _union_build(conn: BaseDatabaseWrapper, reads: Sequence[Read]) -> tuple[str, list[Pick]]:
    nulls = _nulls(conn)
    ctes: list[str] = []
    branches: list[str] = []
    picks: list[Pick] = []
    for tag, (sql, _params, fields) in enumerate(reads):
        names = [f"c{index}" for index in range(len(fields))]
        free = {kind: iter(slots) for kind, slots in _SLOTS_OF.items()}
        slots = list(nulls)
        positions: list[int] = []  # where each column of the read lands in a row
        for name, field in zip(names, fields, strict=True):
            slot = next(free[_kind(field)])
            slots[slot] = name
            positions.append(1 + slot)
        ctes.append(f"{_cte(tag)}({', '.join(names)}) AS ({sql})")
        branches.append(f"SELECT {tag}, {', '.join(slots)} FROM {_cte(tag)}")
        picks.append((itemgetter(*positions), fields))
    return f"WITH {', '.join(ctes)} {' UNION ALL '.join(branches)}", picks


def schedule_rows(
    service_id: int,
    team_id: int | None,
    host_id: int | None,
    location_ids: Sequence[int],
    first_day: date,
    last_day: date,
    lo: datetime,
    hi: datetime,
    now: datetime,
    ignore_booking_id: int | None,
    ignore_hold_id: int | None,
) -> ScheduleRows:
    """The service's active staff (as `staff_rows` with this team), and the five reads of the locations
    and of the staff the engine schedules (those in the team, if any, and the host, if any), in one
    statement: one round trip instead of two. Other arguments as the reads'."""
    conn = connections[DEFAULT_DB_ALIAS]
    chosen = _chosen(conn, host_id)
    reads = [
        _staff(service_id, team_id),
        _working_hours(chosen, location_ids),
        _date_overrides(chosen, location_ids, first_day, last_day),
        _time_off(chosen, location_ids, lo, hi),
        _bookings(chosen, location_ids, lo, hi, ignore_booking_id),
        _holds(chosen, location_ids, now, lo, hi, ignore_hold_id),
    ]
    sql, params, splits = _union(conn, reads)
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[Row] = cursor.fetchall()
    result = ScheduleRows([], [], [], [], [], [])
    for row in rows:
        tag = row[0]
        pick, conversions = splits[tag]
        result[tag].append(_convert(pick(row), conversions) if conversions else pick(row))
    return result._replace(staff=_by_id(result.staff))
