"""Roles: an owner has everything of their organization, a staff member bookings, the calendar and
customers only; merchants create no organizations, see no platform users, and invite members by
email."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from bookings.models import WebhookEndpoint
from organizations.models import ApiKey, Membership
from tests.admin.html_forms import form_data

pytestmark = pytest.mark.django_db

OWNER_ONLY = [
    "organizations_apikey",
    "bookings_webhookendpoint",
    "bookings_webhookdelivery",
    "organizations_service",
    "organizations_location",
    "organizations_staffmember",
    "organizations_team",
    "organizations_workinghours",
    "organizations_timeoff",
    "organizations_dateoverride",
    "organizations_membership",
    "organizations_organization",
    "holds_hold",
]
EVERYONE = ["bookings_booking", "organizations_customer", "bookings_participant", "bookings_bookingevent"]


def test_a_staff_member_cannot_open_keys_webhooks_or_services(client, bravo):
    client.force_login(bravo.staff_user)
    for name in OWNER_ONLY:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 403, name
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403, name
    for model in (bravo.haircut, bravo.objects[ApiKey], bravo.objects[WebhookEndpoint]):
        opts = model._meta
        response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[model.pk]))
        assert response.status_code in (302, 403)
    for name in EVERYONE:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:workspace_calendar")).status_code == 200
    assert client.get(reverse("admin:workspace_reports")).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert "/admin/organizations/service/" not in index and "/admin/organizations/apikey/" not in index
    assert "/admin/bookings/booking/" in index and "/admin/organizations/customer/" in index


def test_an_owner_has_everything_of_their_organization_but_creates_none(client, bravo):
    client.force_login(bravo.owner)
    for name in OWNER_ONLY + EVERYONE:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:organizations_organization_add")).status_code == 403
    page = client.get(reverse("admin:organizations_organization_changelist")).content.decode()
    assert "Add organization" not in page and bravo.organization.name in page
    change = reverse("admin:organizations_organization_change", args=[bravo.organization.pk])
    data = form_data(client.get(change).content.decode(), "organization_form")
    response = client.post(change, {**data, "name": "Renamed", "slug": "hijacked", "_save": "Save"})
    assert response.status_code == 302
    bravo.organization.refresh_from_db()
    assert bravo.organization.name == "Renamed" and bravo.organization.slug == "bravoonly"  # the slug stays
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_owners_invite_members_by_email_who_then_choose_a_password(
    client, bravo, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "http://testserver"
    client.force_login(bravo.owner)
    page = client.get(reverse("admin:organizations_membership_add")).content.decode()
    assert 'name="email"' in page and 'name="user"' not in page  # no list of the platform's users
    assert bravo.owner.username not in page.split('id="membership_form"')[1]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:organizations_membership_add"),
            {"email": "Kim@Example.com", "organization": bravo.organization.pk, "role": "staff"},
        )
    assert response.status_code == 302
    kim = get_user_model().objects.get(email="kim@example.com")
    assert kim.is_staff and not kim.is_superuser and not kim.has_usable_password()
    assert Membership.objects.get(user=kim).role == "staff"
    [invitation] = mailoutbox
    assert invitation.to == ["kim@example.com"] and bravo.organization.name in invitation.subject
    link = re.search(r"http://testserver(/admin/invitation/\S+)", invitation.body).group(1)
    client.logout()
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and "new_password1" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "a-long-new-pass-1", "new_password2": "a-long-new-pass-1"}
    )
    assert done.status_code == 302
    assert client.login(username="kim@example.com", password="a-long-new-pass-1")
    assert client.get(reverse("admin:bookings_booking_changelist")).status_code == 200
    assert client.get(reverse("admin:organizations_service_changelist")).status_code == 403
    # Inviting the same person twice is a form error, not a second membership.
    client.force_login(bravo.owner)
    again = client.post(
        reverse("admin:organizations_membership_add"),
        {"email": "kim@example.com", "organization": bravo.organization.pk, "role": "owner"},
    )
    assert again.status_code == 200 and "already a member" in again.content.decode()
    assert Membership.objects.filter(user=kim).count() == 1


def test_an_organization_keeps_an_owner(client, bravo):
    client.force_login(bravo.owner)
    own = Membership.objects.get(user=bravo.owner)
    response = client.post(reverse("admin:organizations_membership_change", args=[own.pk]), {"role": "staff"})
    assert response.status_code == 200 and "only owner" in response.content.decode()
    assert client.get(reverse("admin:organizations_membership_delete", args=[own.pk])).status_code == 403
    staff = Membership.objects.get(user=bravo.staff_user)
    assert (
        client.post(reverse("admin:organizations_membership_change", args=[staff.pk]), {"role": "owner"}).status_code
        == 302
    )
    assert Membership.objects.get(pk=staff.pk).role == "owner"
    assert (
        client.post(reverse("admin:organizations_membership_change", args=[own.pk]), {"role": "staff"}).status_code
        == 302
    )


def test_the_demo_merchant_is_an_owner(client, demo):
    assert client.login(username=demo["admin"]["username"], password=demo["admin"]["password"])
    assert Membership.objects.get(user__username=demo["admin"]["username"]).role == "owner"
    for name in ("organizations_service_changelist", "organizations_apikey_changelist", "workspace_reports"):
        assert client.get(reverse(f"admin:{name}")).status_code == 200
