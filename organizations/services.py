"""Catalogue services that more than one surface needs."""

from collections.abc import Sequence
from typing import Any, cast

from django.db import connections, router
from django.db.models import Field
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

from organizations.models import Customer, Organization


def customer_get_or_create(
    *, organization: Organization, email: str, first_name: str, last_name: str = "", phone: str = ""
) -> Customer:
    """The organization's customer with this email (case-insensitive), created if new.

    Blank name or phone fields of an existing customer are filled in; given values never
    overwrite what the merchant already has.
    """
    email = (email or "").strip().lower()
    customer = Customer(organization=organization, email=email, first_name=first_name, last_name=last_name, phone=phone)
    if not email:
        _insert_unless_taken(customer)  # a blank email is unique to nobody: the row always goes in
        return customer
    existing = _insert_or_find(customer)
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


def _insert_or_find(customer: Customer) -> Customer | None:
    """None when `customer` went in (its pk set); else the organization's customer with its email.

    On PostgreSQL one statement does both: the insert, and the existing row when the insert met it
    (the customer's first booking and every later one each cost one round trip, inside the
    booking's transaction). Elsewhere: look, then insert.
    """
    using = router.db_for_write(Customer)
    if connections[using].vendor == "postgresql":
        found = _insert_returning_or_existing(customer, using)
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


def _insert_returning_or_existing(customer: Customer, using: str) -> Customer | None:
    """`customer` inserted (pk set), or the row already there, or None if neither was seen."""
    connection = connections[using]
    fields = Customer._meta.concrete_fields
    insert_sql, insert_params = _insert_sql(customer, using, returning=fields)
    columns = ", ".join(connection.ops.quote_name(cast(str, f.column)) for f in fields)  # concrete: never None
    table = connection.ops.quote_name(Customer._meta.db_table)
    sql = (
        f"WITH inserted AS ({insert_sql}) SELECT true, {columns} FROM inserted"
        f" UNION ALL SELECT false, {columns} FROM {table} WHERE organization_id = %s AND email = %s LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*insert_params, customer.organization_id, customer.email])
        row = cursor.fetchone()
    if row is None:
        return None
    inserted, values = row[0], list(row[1:])
    for index, field in enumerate(fields):
        column = field.get_col(Customer._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + field.get_db_converters(connection):
            values[index] = convert(values[index], column, connection)
    if not inserted:
        return Customer.from_db(using, [f.attname for f in fields], values)
    customer.pk = values[[f.primary_key for f in fields].index(True)]
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
