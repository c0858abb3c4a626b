"""Deposits: Stripe Checkout against a local stand-in, and Stripe's signed webhooks."""

import json
import threading
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.models import Booking, BookingEvent, StripeEvent, WebhookEvent
from bookings.payments.checkout import (
    GROUP_DEPOSIT_MESSAGE,
    NO_STRIPE_MESSAGE,
    checkout_idempotency_key,
    deposit_refusal,
)
from bookings.services.actors import Actor
from bookings.services.status import booking_cancel
from holds.models import Hold
from tests.factories import make_org, make_service
from tests.stripe_standin import StripeStandIn, stripe_event, stripe_signature

TZ = "America/New_York"
WEBHOOK_SECRET = "whsec_test_secret"
CLIENT = {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com"}


def client_for(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def hold(shop, hour: int = 10):
    return shop.session.post(
        "/api/v1/bookings/hold",
        {"service_id": str(shop.service.uuid), "location_id": str(shop.location.uuid), "starts_at": shop.at(hour)},
        format="json",
    )


def book_with_deposit(shop, hour: int = 10) -> dict:
    held = hold(shop, hour)
    assert held.status_code == 201, held.json()
    response = shop.session.post("/api/v1/bookings", {"hold_id": held.json()["hold_id"], "client": CLIENT})
    assert response.status_code == 201, response.json()
    return response.json()


def post_stripe_event(payload: bytes, signature: str | None):
    headers: dict[str, Any] = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return APIClient().post("/api/v1/stripe/webhook", payload, content_type="application/json", **headers)


def send(payload: bytes):
    return post_stripe_event(payload, stripe_signature(payload, WEBHOOK_SECRET))


def test_deposit_service_creates_a_pending_booking_and_a_checkout_session(shop, stripe_standin):
    data = book_with_deposit(shop)
    assert (data["status"], data["payment_status"], data["deposit_minor"]) == ("pending", "required", 2000)
    (request,) = stripe_standin.created_sessions
    session = stripe_standin.sessions[next(iter(stripe_standin.sessions))]
    assert data["redirect_url"] == session["url"]

    booking = Booking.objects.get(public_id=data["id"])
    assert booking.stripe_checkout_session_id == session["id"]
    assert request["headers"]["Authorization"] == "Bearer sk_test_standin"
    assert (
        request["headers"]["Idempotency-Key"] == checkout_idempotency_key(booking) == f"booking-{booking.uuid}-deposit"
    )
    params = request["params"]
    assert params["mode"] == "payment"
    line = params["line_items"][0]
    assert (line["quantity"], line["price_data"]["unit_amount"], line["price_data"]["currency"]) == ("1", "2000", "eur")
    assert line["price_data"]["product_data"]["name"] == "Deposit: Color"
    assert params["metadata"] == {
        "booking_id": data["id"],
        "booking_uuid": str(booking.uuid),
        "organization": shop.org.slug,
    }
    assert params["client_reference_id"] == data["id"]
    assert params["customer_email"] == "jane@example.com"
    assert params["success_url"] == "https://shop.example/payments/success?session_id={CHECKOUT_SESSION_ID}"
    assert params["cancel_url"] == f"https://shop.example/payments/cancelled?booking={data['id']}"

    # The pending booking keeps its slot until the session expires.
    assert hold(shop, 10).status_code == 409
    assert shop.session.get(f"/api/v1/bookings/{data['id']}").json()["redirect_url"] == session["url"]


def test_completed_checkout_confirms_the_booking_once(shop, stripe_standin):
    data = book_with_deposit(shop)
    session = stripe_standin.sessions[Booking.objects.get().stripe_checkout_session_id]
    payload = stripe_event("checkout.session.completed", session, status="complete", payment_status="paid")

    response = send(payload)
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "confirmed"}
    booking = Booking.objects.get(public_id=data["id"])
    assert (booking.status, booking.payment_status) == ("confirmed", "paid")
    assert WebhookEvent.objects.filter(type="booking.confirmed").count() == 1
    assert list(booking.events.values_list("action", "actor")) == [
        ("created", booking.events.first().actor),
        ("deposit_paid", "system:stripe"),
        ("status_changed", "system:stripe"),
    ]

    replay = send(payload)
    assert replay.json() == {"received": True, "outcome": "already processed"}
    assert StripeEvent.objects.count() == 1
    assert BookingEvent.objects.filter(booking=booking).count() == 3
    assert WebhookEvent.objects.filter(type="booking.confirmed").count() == 1
    assert shop.session.get(f"/api/v1/bookings/{data['id']}").json()["redirect_url"] is None


def test_the_confirmation_email_goes_out_once_the_deposit_is_paid(
    shop, stripe_standin, mailoutbox, django_capture_on_commit_callbacks
):
    data = book_with_deposit(shop)
    assert mailoutbox == []  # pending: nothing confirmed yet
    session = stripe_standin.sessions[Booking.objects.get().stripe_checkout_session_id]
    payload = stripe_event("checkout.session.completed", session, status="complete", payment_status="paid")

    with django_capture_on_commit_callbacks(execute=True):
        assert send(payload).json()["outcome"] == "confirmed"
    with django_capture_on_commit_callbacks(execute=True):
        send(payload)  # a replay sends nothing again

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["jane@example.com"]
    assert data["confirmation_number"] in mailoutbox[0].body


def test_expired_checkout_cancels_the_booking_and_frees_the_slot(shop, stripe_standin):
    data = book_with_deposit(shop)
    session = stripe_standin.sessions[Booking.objects.get().stripe_checkout_session_id]
    payload = stripe_event("checkout.session.expired", session, status="expired")

    assert send(payload).json()["outcome"] == "cancelled"
    booking = Booking.objects.get(public_id=data["id"])
    assert (booking.status, booking.payment_status) == ("cancelled", "expired")
    assert booking.cancelled_at is not None
    assert booking.cancellation_reason == "Deposit not paid: checkout expired"
    assert WebhookEvent.objects.filter(type="booking.cancelled").count() == 1
    assert hold(shop, 10).status_code == 201, "the slot is free again"

    assert send(payload).json()["outcome"] == "already processed"
    assert WebhookEvent.objects.filter(type="booking.cancelled").count() == 1
    # A late "completed" for a cancelled booking records the payment (to refund it) but does not revive it.
    late = stripe_event("checkout.session.completed", session, payment_status="paid")
    assert send(late).json()["outcome"] == "paid after cancellation, refund asked"
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"


@pytest.mark.parametrize("signature", [None, "", "t=1,v1=deadbeef", "garbage"])
def test_bad_stripe_signature_is_400_and_changes_nothing(shop, stripe_standin, signature):
    book_with_deposit(shop)
    session = stripe_standin.sessions[Booking.objects.get().stripe_checkout_session_id]
    payload = stripe_event("checkout.session.completed", session, payment_status="paid")
    response = post_stripe_event(payload, signature)
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid Stripe-Signature"}
    assert Booking.objects.get().status == "pending"
    assert not StripeEvent.objects.exists()


def test_signature_with_another_secret_or_a_changed_body_is_refused(shop, stripe_standin):
    book_with_deposit(shop)
    session = stripe_standin.sessions[Booking.objects.get().stripe_checkout_session_id]
    payload = stripe_event("checkout.session.completed", session, payment_status="paid")
    assert post_stripe_event(payload, stripe_signature(payload, "whsec_other")).status_code == 400
    tampered = payload.replace(b'"paid"', b'"paid" ')
    assert post_stripe_event(tampered, stripe_signature(payload, WEBHOOK_SECRET)).status_code == 400
    assert Booking.objects.get().status == "pending"


def test_unrelated_stripe_events_are_acknowledged_and_ignored(shop, stripe_standin):
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "customer.created", "data": {"object": {}}})
    response = send(payload.encode())
    assert response.json() == {"received": True, "outcome": "ignored"}


def test_without_stripe_keys_deposit_services_are_refused_with_422(shop, settings):
    settings.STRIPE_SECRET_KEY = ""
    held = hold(shop, 10).json()
    response = shop.session.post("/api/v1/bookings", {"hold_id": held["hold_id"], "client": CLIENT})
    assert response.status_code == 422
    assert response.json() == {"detail": NO_STRIPE_MESSAGE}
    assert not Booking.objects.exists()
    assert Hold.objects.get(uuid=held["hold_id"]).status == "active"


def test_when_stripe_refuses_nothing_is_booked_and_the_hold_stays(shop, settings):
    with StripeStandIn(fail_with=400) as standin:
        settings.STRIPE_SECRET_KEY = "sk_test_standin"
        settings.STRIPE_API_BASE = standin.url
        held = hold(shop, 10).json()
        response = shop.session.post("/api/v1/bookings", {"hold_id": held["hold_id"], "client": CLIENT})
    assert response.status_code == 502
    assert "nothing was booked" in response.json()["detail"]
    assert not Booking.objects.exists()
    assert Hold.objects.get(uuid=held["hold_id"]).status == "active"


def test_services_without_a_deposit_need_no_stripe(db, settings):
    settings.STRIPE_SECRET_KEY = ""
    org = make_org()
    assert deposit_refusal(make_service(org)) is None
    assert deposit_refusal(make_service(org, deposit_minor=500)) == NO_STRIPE_MESSAGE
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    assert deposit_refusal(make_service(org, deposit_minor=500)) is None
    assert deposit_refusal(make_service(org, deposit_minor=500, kind="group")) == GROUP_DEPOSIT_MESSAGE


def test_admin_shows_why_a_deposit_service_cannot_be_booked(shop, settings, client):
    settings.STRIPE_SECRET_KEY = ""
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    listing = client.get("/admin/organizations/service/")
    assert listing.status_code == 200
    assert "NOT BOOKABLE" in listing.content.decode()
    page = client.get(f"/admin/organizations/service/{shop.service.pk}/change/")
    assert NO_STRIPE_MESSAGE in page.content.decode()

    settings.STRIPE_SECRET_KEY = "sk_test_x"
    assert "NOT BOOKABLE" not in client.get("/admin/organizations/service/").content.decode()


def test_return_pages_render(shop, stripe_standin, client):
    data = book_with_deposit(shop)
    session_id = Booking.objects.get().stripe_checkout_session_id
    success = client.get(f"/payments/success?session_id={session_id}")
    assert success.status_code == 200
    assert data["confirmation_number"] in success.content.decode()
    cancelled = client.get(f"/payments/cancelled?booking={data['id']}")
    assert cancelled.status_code == 200
    assert data["confirmation_number"] in cancelled.content.decode()


def test_reconcile_settles_deposits_whose_webhook_never_came(shop, stripe_standin):
    paid = book_with_deposit(shop, 10)
    lapsed = book_with_deposit(shop, 12)
    fresh = book_with_deposit(shop, 14)
    by_id = {b.public_id: b for b in Booking.objects.all()}
    stripe_standin.sessions[by_id[paid["id"]].stripe_checkout_session_id].update(
        status="complete", payment_status="paid"
    )
    stripe_standin.sessions[by_id[lapsed["id"]].stripe_checkout_session_id].update(status="expired")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Booking.objects.filter(public_id__in=[paid["id"], lapsed["id"]]).update(created_at=an_hour_ago)

    out = StringIO()
    call_command("reconcile_deposits", stdout=out)
    assert out.getvalue().strip() == "Deposits: 1 cancelled, 1 confirmed"
    statuses = dict(Booking.objects.values_list("public_id", "status"))
    assert statuses == {paid["id"]: "confirmed", lapsed["id"]: "cancelled", fresh["id"]: "pending"}
    assert hold(shop, 12).status_code == 201, "the lapsed slot is free again"

    call_command("reconcile_deposits", stdout=out)
    assert out.getvalue().strip().endswith("Deposits: nothing to do")
    gets = [r for r in stripe_standin.requests if r["method"] == "GET"]
    assert len(gets) == 2, "only overdue bookings are looked up"


@pytest.mark.django_db(transaction=True)
def test_the_same_stripe_event_sent_twice_at_once_is_applied_once(shop, stripe_standin):
    book_with_deposit(shop)
    session = stripe_standin.sessions[Booking.objects.get().stripe_checkout_session_id]
    payload = stripe_event("checkout.session.completed", session, payment_status="paid")
    start = threading.Barrier(2)
    outcomes = []

    def deliver():
        try:
            start.wait()
            outcomes.append(send(payload).json()["outcome"])
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["already processed", "confirmed"]
    assert StripeEvent.objects.count() == 1
    assert WebhookEvent.objects.filter(type="booking.confirmed").count() == 1


def self_cancel(number: str):
    """The customer cancels through the lookup's self-service API, as the manage page does."""
    cancel_url = f"/api/calendar/v1/public/bookings/confirmation/{number}/cancel"
    return APIClient().post(cancel_url, {"contact": CLIENT["email"]}, format="json")


def cancel_then_pay(shop, stripe_standin) -> tuple[Booking, bytes]:
    """A customer cancels a booking whose deposit is not paid yet, then pays on the Checkout page
    still open in another tab: the completed event Stripe then sends."""
    data = book_with_deposit(shop)
    assert self_cancel(data["confirmation_number"]).status_code == 200
    booking = Booking.objects.get(public_id=data["id"])
    session = stripe_standin.pay(booking.stripe_checkout_session_id)
    return booking, stripe_event("checkout.session.completed", session)


def test_a_deposit_paid_after_the_booking_was_cancelled_is_refunded(
    shop, stripe_standin, django_capture_on_commit_callbacks
):
    booking, payload = cancel_then_pay(shop, stripe_standin)

    with django_capture_on_commit_callbacks(execute=True):
        assert send(payload).json()["outcome"] == "paid after cancellation, refund asked"

    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("cancelled", "refunded")
    [refund] = stripe_standin.refund_requests
    assert refund["params"]["amount"] == "2000"
    actions = list(booking.events.values_list("action", flat=True))
    assert actions[-2:] == ["deposit_paid_after_cancellation", "deposit_refunded"]

    with django_capture_on_commit_callbacks(execute=True):
        assert send(payload).json()["outcome"] == "already processed"
    assert len(stripe_standin.refund_requests) == 1, "a replayed event refunds nothing more"


def test_a_late_deposit_refund_that_failed_is_retried_by_reconcile_deposits(
    shop, stripe_standin, django_capture_on_commit_callbacks
):
    booking, payload = cancel_then_pay(shop, stripe_standin)
    stripe_standin.fail_refunds_with = 500
    with django_capture_on_commit_callbacks(execute=True):
        assert send(payload).status_code == 200, "the payment is recorded even when the refund fails"
    booking.refresh_from_db()
    assert booking.payment_status == "paid"

    stripe_standin.fail_refunds_with = None
    out = StringIO()
    call_command("reconcile_deposits", stdout=out)
    assert out.getvalue().strip() == "Deposits: 1 late deposit refunded"
    booking.refresh_from_db()
    assert booking.payment_status == "refunded"
    assert len(stripe_standin.refunds) == 1

    call_command("reconcile_deposits", stdout=out)
    assert out.getvalue().strip().endswith("Deposits: nothing to do")


def test_a_deposit_kept_after_a_late_cancellation_is_not_refunded_by_reconcile(shop, stripe_standin):
    """Only a payment that arrived after the cancellation is refunded; a deposit the policy keeps stays."""
    data = book_with_deposit(shop)
    booking = Booking.objects.get(public_id=data["id"])
    session = stripe_standin.pay(booking.stripe_checkout_session_id)
    assert send(stripe_event("checkout.session.completed", session)).json()["outcome"] == "confirmed"
    # The merchant cancels it (the customer's own cancel would refund it before the cut-off).
    booking_cancel(booking=booking, actor=Actor(system="merchant"), reason="Closed")

    out = StringIO()
    call_command("reconcile_deposits", stdout=out)
    assert out.getvalue().strip() == "Deposits: nothing to do"
    assert Booking.objects.get(pk=booking.pk).payment_status == "paid"
    assert stripe_standin.refund_requests == []
