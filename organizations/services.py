"""Catalogue services that more than one surface needs."""

from django.db import connections, router
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
    if email:
        customer = Customer.objects.filter(organization=organization, email=email).first()
        if customer is not None:
            changed = []
            for field, value in (("first_name", first_name), ("last_name", last_name), ("phone", phone)):
                if value and not getattr(customer, field):
                    setattr(customer, field, value)
                    changed.append(field)
            if changed:
                customer.save(update_fields=changed)
            return customer
    customer = Customer(organization=organization, email=email, first_name=first_name, last_name=last_name, phone=phone)
    if _insert_unless_taken(customer):
        return customer
    # Another request created the same customer a moment ago.
    return Customer.objects.get(organization=organization, email=email)


def _insert_unless_taken(customer: Customer) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: True (and the pk set) if the row went in.

    Why not `create()` in a savepoint, catching IntegrityError: the savepoint and its release
    are two more round trips on every first booking, inside the booking's transaction.
    """
    using = router.db_for_write(Customer)
    query = InsertQuery(Customer, on_conflict=OnConflict.IGNORE)
    query.insert_values([f for f in Customer._meta.local_concrete_fields if not f.primary_key], [customer])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [Customer._meta.pk]
    [(sql, params)] = compiler.as_sql()
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    customer.pk = row[0]
    customer._state.adding = False
    customer._state.db = using
    return True
