"""Catalogue services that more than one surface needs."""

from django.db import IntegrityError, transaction

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
    try:
        with transaction.atomic():
            return Customer.objects.create(
                organization=organization, email=email, first_name=first_name, last_name=last_name, phone=phone
            )
    except IntegrityError:
        # Another request created the same customer a moment ago.
        return Customer.objects.get(organization=organization, email=email)
