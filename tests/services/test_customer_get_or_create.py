"""A customer is found or created by email within the organization (organizations/services.py)."""

import threading
import time

import pytest
from django.db import connection, transaction
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
    assert customer.created_at == stored.created_at  # the instance holds what was stored
    second = customer_get_or_create(organization=org, email="bo@example.com", first_name="Bo", last_name="Lee")
    stored = Customer.objects.get(pk=second.pk)  # the statement built once serves the next customer
    assert (stored.email, stored.first_name, stored.last_name, stored.phone) == ("bo@example.com", "Bo", "Lee", "")
    assert (second.uuid, second.created_at) == (stored.uuid, stored.created_at) and second.uuid != customer.uuid


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


@pytest.mark.django_db(transaction=True)
def test_a_customer_committed_while_our_insert_waited_for_it_is_returned():
    """PostgreSQL: our statement's snapshot predates the other commit, so only the re-read finds it."""
    if connection.vendor != "postgresql":
        pytest.skip("row-level waits on a unique index are PostgreSQL's")
    org = make_org()
    inserted = threading.Event()
    outcome = {}

    def other_request():
        try:
            with transaction.atomic():
                outcome["other"] = Customer.objects.create(organization=org, email="ann@example.com", first_name="Ann")
                inserted.set()
                # Commit only once our insert is waiting on this uncommitted row.
                with connection.cursor() as cursor:
                    for _ in range(500):
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.01)
        finally:
            inserted.set()
            connection.close()

    thread = threading.Thread(target=other_request)
    thread.start()
    assert inserted.wait(10)
    found = customer_get_or_create(organization=org, email="Ann@example.com", first_name="Annie")
    thread.join(10)
    assert found.pk == outcome["other"].pk and found.first_name == "Ann"
    assert Customer.objects.filter(organization=org).count() == 1
