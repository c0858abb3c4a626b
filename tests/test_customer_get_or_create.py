"""A customer is found or created by email within the organization (organizations/services.py)."""

import pytest
from django.db import transaction
from django.db.models import QuerySet

from organizations.models import Customer
from organizations.services import customer_get_or_create
from tests.factories import make_customer, make_org

pytestmark = pytest.mark.django_db


def test_a_new_email_creates_the_customer_with_what_was_given():
    org = make_org()
    customer = customer_get_or_create(organization=org, email=" Ann@Example.com ", first_name="Ann", phone="+15551")
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.email, stored.first_name, stored.phone) == ("ann@example.com", "Ann", "+15551")
    assert stored.uuid == customer.uuid and stored.created_at is not None


def test_a_known_email_returns_that_customer_and_fills_only_blank_fields():
    org = make_org()
    known = make_customer(org, email="ann@example.com", first_name="Ann", phone="")
    found = customer_get_or_create(organization=org, email="ANN@example.com", first_name="Annie", phone="+15551")
    assert found.pk == known.pk
    stored = Customer.objects.get(pk=known.pk)
    assert (stored.first_name, stored.phone) == ("Ann", "+15551")
    assert Customer.objects.filter(organization=org).count() == 1


def test_the_same_email_in_another_organization_is_another_customer():
    first, second = make_org(), make_org()
    a = customer_get_or_create(organization=first, email="ann@example.com", first_name="Ann")
    b = customer_get_or_create(organization=second, email="ann@example.com", first_name="Ann")
    assert a.pk != b.pk


def test_a_customer_created_meanwhile_by_another_request_is_returned_and_the_transaction_goes_on(monkeypatch):
    org = make_org()
    other_request = make_customer(org, email="ann@example.com", first_name="Ann")
    # Our lookup ran just before the other request's insert committed: it found nothing.
    monkeypatch.setattr(QuerySet, "first", lambda self: None)
    with transaction.atomic():
        found = customer_get_or_create(organization=org, email="ann@example.com", first_name="Ann")
        assert found.pk == other_request.pk
        # No failed statement was left behind: the booking's transaction can carry on.
        assert Customer.objects.filter(organization=org).count() == 1
