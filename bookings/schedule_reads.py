"""The availability engine's hottest reads, written as SQL once (used by bookings/availability.py).

Why: these reads run for every availability answer that is not cached and under the locks of
every booking and hold. Through the ORM each one cost 1.3-2 ms of CPU on the 2-core machine,
nearly all of it building and compiling the query; the same statement as SQL costs about
0.3 ms. They are plain SELECTs that SQLite and PostgreSQL both run. Values go in through the
backend's own adapters and come back through its own converters (SQLite keeps datetimes and
times as text), so each function returns exactly the rows `values_list` returned before.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.db import connection
from django.db.models import Field

from bookings.models import ACTIVE_STATUSES, Booking
from holds.models import Hold
from organizations.models import DateOverride, Service, StaffMember, Team, TimeOff, WorkingHours


def _converters(field: Field):
    """The backend's converters for a column of `field` (what the ORM's compiler applies)."""
    column = field.get_col(field.model._meta.db_table)
    return column, connection.ops.get_db_converters(column) + column.get_db_converters(connection)


def _select(sql: str, params: Sequence, fields: Sequence[Field | None]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    conversions = []
    for index, field in enumerate(fields):
        if field is not None:
            column, converters = _converters(field)
            if converters:
                conversions.append((index, column, converters))
    if not conversions:
        return rows
    converted = []
    for row in rows:
        row = list(row)
        for index, column, converters in conversions:
            for convert in converters:
                row[index] = convert(row[index], column, connection)
        converted.append(tuple(row))
    return converted


def _in(column: str, values: Iterable) -> tuple[str, list]:
    values = list(values)
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def _owners(staff_ids: Sequence[int], location_ids: Sequence[int], prefix: str = "") -> tuple[str, list]:
    staff_sql, staff_params = _in(f"{prefix}staff_id", staff_ids)
    location_sql, location_params = _in(f"{prefix}location_id", location_ids)
    return f"({staff_sql} OR {location_sql})", staff_params + location_params


def _moment(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _f(model, name: str) -> Field:
    return model._meta.get_field(name)


def staff_rows(service: Service, team: Team | None) -> list[tuple]:
    """(id, uuid, in_team) of the service's active staff, by id; in_team is True without a team."""
    service_staff = Service.staff.through._meta.db_table
    params: list = []
    in_team = "1"
    if team is not None:
        in_team = (
            f"EXISTS (SELECT 1 FROM {Team.members.through._meta.db_table} tm"
            " WHERE tm.team_id = %s AND tm.staffmember_id = s.id)"
        )
        params.append(team.pk)
    sql = (
        f"SELECT s.id, s.uuid, {in_team} FROM {StaffMember._meta.db_table} s"
        f" INNER JOIN {service_staff} ss ON ss.staffmember_id = s.id"
        " WHERE ss.service_id = %s AND s.active = %s ORDER BY s.id"
    )
    rows = _select(sql, [*params, service.pk, True], [None, _f(StaffMember, "uuid"), None])
    return [(staff_id, staff_uuid, bool(member)) for staff_id, staff_uuid, member in rows]


def working_hours_rows(staff_ids: Sequence[int], location_ids: Sequence[int]) -> list[tuple]:
    """(staff_id, location_id, weekday, start_time, end_time) of these owners."""
    owners, params = _owners(staff_ids, location_ids)
    sql = (
        f"SELECT staff_id, location_id, weekday, start_time, end_time FROM {WorkingHours._meta.db_table} WHERE {owners}"
    )
    return _select(sql, params, [None, None, None, _f(WorkingHours, "start_time"), _f(WorkingHours, "end_time")])


def date_override_rows(staff_ids: Sequence[int], location_ids: Sequence[int], first: date, last: date) -> list[tuple]:
    """(staff_id, location_id, date, start_time, end_time) of these owners from `first` to `last`."""
    owners, params = _owners(staff_ids, location_ids)
    sql = (
        f"SELECT staff_id, location_id, date, start_time, end_time FROM {DateOverride._meta.db_table}"
        f" WHERE {owners} AND date >= %s AND date <= %s"
    )
    adapt = connection.ops.adapt_datefield_value
    fields = [None, None, _f(DateOverride, "date"), _f(DateOverride, "start_time"), _f(DateOverride, "end_time")]
    return _select(sql, [*params, adapt(first), adapt(last)], fields)


def time_off_rows(staff_ids: Sequence[int], location_ids: Sequence[int], lo: datetime, hi: datetime) -> list[tuple]:
    """(staff_id, location_id, starts_at, ends_at) of these owners' time off overlapping (lo, hi)."""
    owners, params = _owners(staff_ids, location_ids)
    sql = (
        f"SELECT staff_id, location_id, starts_at, ends_at FROM {TimeOff._meta.db_table}"
        f" WHERE {owners} AND starts_at < %s AND ends_at > %s"
    )
    fields = [None, None, _f(TimeOff, "starts_at"), _f(TimeOff, "ends_at")]
    return _select(sql, [*params, _moment(hi), _moment(lo)], fields)


def booking_rows(
    staff_ids: Sequence[int], location_ids: Sequence[int], lo: datetime, hi: datetime, ignore_id: int | None
) -> list[tuple]:
    """(staff_id, location_id, blocked_start, blocked_end, is_group, service_id) of active bookings
    overlapping (lo, hi): of these staff, or of these locations with no staff (not group sessions)."""
    staff_sql, staff_params = _in("staff_id", staff_ids)
    location_sql, location_params = _in("location_id", location_ids)
    status_sql, status_params = _in("status", [str(status) for status in ACTIVE_STATUSES])
    sql = (
        "SELECT staff_id, location_id, blocked_start, blocked_end, is_group, service_id"
        f" FROM {Booking._meta.db_table}"
        f" WHERE ({staff_sql} OR ({location_sql} AND staff_id IS NULL AND is_group = %s))"
        f" AND {status_sql} AND blocked_start < %s AND blocked_end > %s"
    )
    params = [*staff_params, *location_params, False, *status_params, _moment(hi), _moment(lo)]
    if ignore_id is not None:
        sql += " AND id <> %s"
        params.append(ignore_id)
    fields = [None, None, _f(Booking, "blocked_start"), _f(Booking, "blocked_end"), _f(Booking, "is_group"), None]
    return _select(sql, params, fields)


def hold_rows(
    staff_ids: Sequence[int],
    location_ids: Sequence[int],
    now: datetime,
    lo: datetime,
    hi: datetime,
    ignore_id: int | None,
) -> list[tuple]:
    """(staff_id, location_id, service_id, service kind, starts_at, blocked_start, blocked_end,
    party_size) of active, unexpired holds of these owners overlapping (lo, hi)."""
    owners, params = _owners(staff_ids, location_ids, prefix="h.")
    sql = (
        "SELECT h.staff_id, h.location_id, h.service_id, sv.kind, h.starts_at, h.blocked_start, h.blocked_end,"
        f" h.party_size FROM {Hold._meta.db_table} h INNER JOIN {Service._meta.db_table} sv ON sv.id = h.service_id"
        f" WHERE {owners} AND h.status = %s AND h.expires_at > %s AND h.blocked_start < %s AND h.blocked_end > %s"
    )
    params = [*params, str(Hold.Status.ACTIVE), _moment(now), _moment(hi), _moment(lo)]
    if ignore_id is not None:
        sql += " AND h.id <> %s"
        params.append(ignore_id)
    fields = [None, None, None, None, _f(Hold, "starts_at"), _f(Hold, "blocked_start"), _f(Hold, "blocked_end"), None]
    return _select(sql, params, fields)
