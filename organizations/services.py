"""Catalogue services that more than one surface needs."""

import copy
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

from django.db import connections, router
from django.db.models import Field
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

from organizations.compiled import RidingSelect
from organizations.models import Customer, Organization


def customer_get_or_create(
    *,
    organization: Organization,
    email: str,
    first_name: str,
    last_name: str = "",
    phone: str = "",
    riding: RidingSelect | None = None,
) -> Customer:
    """The organization's customer with this email (case-insensitive), created if new.

    Blank name or phone fields of an existing customer are filled in; given values never
    overwrite what the merchant already has. `riding`: a SELECT of the caller's run in the same
    statement (on PostgreSQL, for a customer with an email; `riding.rode` says whether it did).
    """
    email = (email or "").strip().lower()
    customer = Customer(organization=organization, email=email, first_name=first_name, last_name=last_name, phone=phone)
    if not email:
        _insert_unless_taken(customer)  # a blank email is unique to nobody: the row always goes in
        return customer
    existing = _insert_or_find(customer, riding)
    if existing is None:
        return customer
    changed = []
    for field, value in (("first_name", first_name), ("last_name", last_name), ("phone", phone)):
        if value and not getattr(existing, field):
            setattr(existing, field, value)
            changed.append(field)
    if changed:
        existing.save(update_fields=changed)
    return existing


def _insert_or_find(customer: Customer, riding: RidingSelect | None = None) -> Customer | None:
    """None when `customer` went in (its pk set); else the organization's customer with its email.

    On PostgreSQL one statement does both: the insert, and the existing row when the insert met it
    (the customer's first booking and every later one each cost one round trip, inside the
    booking's transaction). Elsewhere: look, then insert.
    """
    using = router.db_for_write(Customer)
    if connections[using].vendor == "postgresql":
        found = _insert_returning_or_existing(customer, using, riding)
        if found is not None:
            return None if found is customer else found
        # Nothing came back: a request inserting the same customer committed after this
        # statement began (so the insert yielded to it, and the read could not see it yet).
    else:
        existing = Customer.objects.filter(organization_id=customer.organization_id, email=customer.email).first()
        if existing is not None:
            return existing
        if _insert_unless_taken(customer):
            return None
        # Another request created the same customer a moment ago.
    return Customer.objects.get(organization_id=customer.organization_id, email=customer.email)


class _Upsert(NamedTuple):
    sql: str
    inserted: list["Field[Any, Any]"]  # the INSERT's columns, in its parameters' order
    returned: list["Field[Any, Any]"]
    converters: list[tuple[Any, list[Any]]]  # each returned column, and what the ORM converts it with


_UPSERTS: dict[tuple[str, str], _Upsert] = {}


def _upsert_compile(customer: Customer, using: str, riding_sql: str = "") -> _Upsert:
    """The insert-or-read statement, built by Django's own compiler from a copy of `customer`; with
    `riding_sql`, that SELECT runs in it too (its one row always comes back, with the customer's
    columns NULL when neither the insert nor the read saw one)."""
    connection = connections[using]
    returned = list(Customer._meta.concrete_fields)
    inserted = [f for f in Customer._meta.local_concrete_fields if not f.primary_key]
    # A copy: compiling runs each field's pre_save, which `_insert_returning_or_existing` runs on the row itself.
    insert_sql, insert_params = _insert_sql(copy.copy(customer), using, returning=returned)
    if len(insert_params) != len(inserted):  # each value its own parameter, in the fields' order
        raise ValueError(f"the customer INSERT has {len(insert_params)} parameters for {len(inserted)} columns")
    columns = ", ".join(connection.ops.quote_name(cast(str, f.column)) for f in returned)  # concrete: never None
    table = connection.ops.quote_name(Customer._meta.db_table)
    found = (
        f"SELECT true, {columns} FROM inserted"
        f" UNION ALL SELECT false, {columns} FROM {table} WHERE organization_id = %s AND email = %s LIMIT 1"
    )
    sql = f"WITH inserted AS ({insert_sql}) {found}"
    if riding_sql:
        # The rider is a CTE of its own, joined so that it runs whatever the insert and the read find,
        # and after them: its {after} counts what they found (the insert, and any wait for a row
        # another transaction is inserting, come before whatever the rider does).
        after = riding_sql.replace("{after}", " AND (SELECT count(*) FROM found) >= 0")
        sql = f"WITH inserted AS ({insert_sql}), found AS ({found}), riding AS ({after})"
        sql += " SELECT found.* FROM riding LEFT JOIN found ON true"
    converters = []
    for field in returned:
        column = field.get_col(Customer._meta.db_table)
        converters.append((column, connection.ops.get_db_converters(column) + field.get_db_converters(connection)))
    return _Upsert(sql, inserted, returned, converters)


def _insert_returning_or_existing(
    customer: Customer, using: str, riding: RidingSelect | None = None
) -> Customer | None:
    """`customer` inserted (pk set), or the row already there, or None if neither was seen.

    The statement is built once per database (and rider), as Django's compiler cost more than
    running it; each value is prepared as the compiler prepares it (pre_save, then get_db_prep_save)."""
    connection = connections[using]
    key = (using, riding.sql if riding is not None else "")
    upsert = _UPSERTS.get(key)
    if upsert is None:
        upsert = _UPSERTS[key] = _upsert_compile(customer, using, key[1])
    params = [f.get_db_prep_save(f.pre_save(customer, True), connection=connection) for f in upsert.inserted]
    params += [customer.organization_id, customer.email]
    if riding is not None:
        params += riding.params
        riding.rode = True
    with connection.cursor() as cursor:
        cursor.execute(upsert.sql, params)
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    inserted, values = row[0], list(row[1:])
    for index, (column, converters) in enumerate(upsert.converters):
        for convert in converters:
            values[index] = convert(values[index], column, connection)
    if not inserted:
        return Customer.from_db(using, [f.attname for f in upsert.returned], values)
    customer.pk = values[[f.primary_key for f in upsert.returned].index(True)]
    customer._state.adding = False
    customer._state.db = using
    return customer


def _insert_sql(customer: Customer, using: str, *, returning: Sequence["Field[Any, Any]"]) -> tuple[str, Sequence[Any]]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING `returning`, built by Django's own compiler."""
    query = InsertQuery(Customer, on_conflict=OnConflict.IGNORE)
    query.insert_values([f for f in Customer._meta.local_concrete_fields if not f.primary_key], [customer])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = list(returning)
    [(sql, params)] = compiler.as_sql()
    return sql, params


def _insert_unless_taken(customer: Customer) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: True (and the pk set) if the row went in.

    Why not `create()` in a savepoint, catching IntegrityError: the savepoint and its release
    are two more round trips on every first booking, inside the booking's transaction.
    """
    using = router.db_for_write(Customer)
    sql, params = _insert_sql(customer, using, returning=[Customer._meta.pk])
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    customer.pk = row[0]
    customer._state.adding = False
    customer._state.db = using
    return True
