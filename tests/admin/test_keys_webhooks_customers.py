"""API keys (secret shown once, revoke, last used), webhook endpoints (recent deliveries, resend),
a booking's deposit state, and a customer's page (bookings, cancellations, no-shows, notes)."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from organizations.errors import NotAuthenticated
from organizations.keys import api_key_authenticate, hash_secret
from organizations.models import ApiKey
from tests.factories import make_booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, bravo):
    client.force_login(bravo.owner)
    return client


def test_a_new_key_shows_its_secret_once_and_can_be_revoked(owner, bravo):
    response = owner.post(
        reverse("admin:organizations_apikey_add"),
        {"name": "Widget", "kind": "public", "organizations": [bravo.organization.pk]},
    )
    assert response.status_code == 200
    secret = re.search(r"<code>(cal_pub_[^<]+)</code>", response.content.decode()).group(1)
    key = ApiKey.objects.get(secret_hash=hash_secret(secret))
    assert key.name == "Widget" and list(key.organizations.all()) == [bravo.organization]
    assert "it is shown this once" in response.content.decode()
    later = owner.get(reverse("admin:organizations_apikey_change", args=[key.pk])).content.decode()
    listing = owner.get(reverse("admin:organizations_apikey_changelist")).content.decode()
    assert secret not in later and secret not in listing and key.prefix in listing

    api_key_authenticate(secret)  # works, and is now "last used"
    assert "Last used" in listing
    assert timezone.now() - ApiKey.objects.get(pk=key.pk).last_used_at < timedelta(minutes=1)
    owner.post(
        reverse("admin:organizations_apikey_changelist"), {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [key.pk]}
    )
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    with pytest.raises(NotAuthenticated):
        api_key_authenticate(secret)
    assert "Revoked" in owner.get(reverse("admin:organizations_apikey_changelist")).content.decode()


def test_key_forms_refuse_what_the_key_cannot_be(owner, bravo, alpha):
    add = reverse("admin:organizations_apikey_add")
    no_customer = owner.post(add, {"kind": "customer", "organizations": [bravo.organization.pk]})
    assert no_customer.status_code == 200 and "must name its customer" in no_customer.content.decode()
    hub_of_others = owner.post(add, {"kind": "hub", "organizations": [bravo.organization.pk, alpha.organization.pk]})
    assert "Select a valid choice" in hub_of_others.content.decode()
    session = owner.post(add, {"kind": "session", "organizations": [bravo.organization.pk]})
    assert "Select a valid choice" in session.content.decode()
    assert not ApiKey.objects.filter(organizations=bravo.organization, kind__in=["customer", "hub", "session"]).exists()


def test_webhook_endpoints_show_deliveries_and_resend_them(owner, bravo):
    endpoint = bravo.objects[WebhookEndpoint]
    delivery = bravo.objects[WebhookDelivery]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempt_count=8)
    WebhookAttempt.objects.filter(delivery=delivery).update(response_excerpt="upstream says no")
    page = owner.get(reverse("admin:bookings_webhookendpoint_change", args=[endpoint.pk])).content.decode()
    assert "Recent deliveries" in page and "booking.created" in page
    assert "Failed (gave up)" in page and "upstream says no" in page and ">500<" in page
    response = owner.post(reverse("admin:bookings_webhookdelivery_resend", args=[delivery.pk]), follow=True)
    assert "is queued again" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempt_count == 0
    assert delivery.next_attempt_at <= timezone.now()
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1  # the history stays
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)
    refused = owner.post(reverse("admin:bookings_webhookdelivery_resend", args=[delivery.pk]), follow=True)
    assert "disabled" in refused.content.decode()


def test_a_new_endpoint_shows_its_signing_secret_once(owner, bravo):
    response = owner.post(
        reverse("admin:bookings_webhookendpoint_add"),
        {"organization": bravo.organization.pk, "url": "https://hooks.example.com/x", "active": "on", "_save": "Save"},
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(url="https://hooks.example.com/x")
    assert f"<code>{endpoint.secret}</code>" in response.content.decode()
    assert (
        endpoint.secret
        not in owner.get(reverse("admin:bookings_webhookendpoint_change", args=[endpoint.pk])).content.decode()
    )


def test_a_booking_shows_its_deposit_state_and_stripe_reference(owner, bravo):
    Booking.objects.filter(pk=bravo.booking.pk).update(
        deposit_minor=2000, payment_status="paid", stripe_checkout_session_id="cs_test_123"
    )
    page = owner.get(reverse("admin:bookings_booking_change", args=[bravo.booking.pk])).content.decode()
    assert "20.00 USD: Deposit paid" in page and "cs_test_123" in page
    assert "20.00 USD: Deposit paid" in owner.get(reverse("admin:bookings_booking_changelist")).content.decode()


def test_a_customers_page_shows_their_bookings_counts_and_notes(client, bravo):
    client.force_login(bravo.staff_user)  # front desk staff keep customer notes too
    customer = bravo.customer
    past = make_booking(
        bravo.haircut,
        bravo.location,
        timezone.now() - timedelta(days=3),
        customer=customer,
        staff=bravo.alex,
        status="no_show",
    )
    make_booking(
        bravo.haircut,
        bravo.location,
        timezone.now() - timedelta(days=10),
        customer=customer,
        staff=bravo.alex,
        status="cancelled",
    )
    page = client.get(reverse("admin:organizations_customer_change", args=[customer.pk])).content.decode()
    upcoming, past_part = page.split("Upcoming bookings")[1].split("Past bookings")
    assert bravo.booking.confirmation_number in upcoming and bravo.session.confirmation_number in upcoming
    assert past.confirmation_number in past_part and past.confirmation_number not in upcoming
    assert "America/New_York" in upcoming
    assert "4 booking(s): 0 completed, 1 cancellation(s), 1 no-show(s)" in page
    response = client.post(
        reverse("admin:organizations_customer_change", args=[customer.pk]),
        {"first_name": customer.first_name, "last_name": "Doe", "email": customer.email, "phone": customer.phone,
         "notes": "Prefers mornings", "_save": "Save"},
    )  # fmt: skip
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.notes == "Prefers mornings" and customer.organization == bravo.organization
    assert client.get(reverse("admin:organizations_customer_delete", args=[customer.pk])).status_code == 403
