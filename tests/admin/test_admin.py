"""The admin: every changelist renders, and a merchant sees only their organization."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from organizations.models import Membership
from tests.factories import make_customer, make_org

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_each_changelist_renders_for_a_superuser(client, demo, model):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client.force_login(user)
    response = client.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/")
    assert response.status_code == 200


def test_merchant_sees_only_their_own_customers(client):
    mine, theirs = make_org(), make_org()
    make_customer(mine, email="mine@example.com")
    make_customer(theirs, email="theirs@example.com")
    user = get_user_model().objects.create_user("merchant1", password="pw-for-tests-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="organizations"))
    Membership.objects.create(user=user, organization=mine)
    client.force_login(user)
    page = client.get("/admin/organizations/customer/").content.decode()
    assert "mine@example.com" in page
    assert "theirs@example.com" not in page
    other = theirs.customers.get()
    assert client.get(f"/admin/organizations/customer/{other.id}/change/").status_code == 302


def test_demo_merchant_can_log_in_and_open_bookings(client, demo):
    assert client.login(username=demo["admin"]["username"], password=demo["admin"]["password"])
    assert client.get("/admin/bookings/booking/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
