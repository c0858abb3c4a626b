"""An Idempotency-Key is claimed for as long as its request may run, and no longer: a request that died
(a killed worker) blocks its key only until then, while a live one still answers its retries 409."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking, IdempotencyRecord
from bookings.payments.checkout import PaymentProviderError, deposit_checkout_open, stripe_call_max_seconds
from bookings.services.idempotency import (
    claim_lifetime,
    idempotency_claim,
    idempotency_complete,
    request_fingerprint,
)
from organizations.errors import Conflict
from organizations.models import ApiKey
from tests.api.public.test_idempotency import URL, body
from tests.stripe_standin import StripeStandIn


def post(api_client, demo, key: str):
    return api_client.post(
        URL, body(), format="json", HTTP_X_KORDLESS_KEY=demo["keys"]["public"], HTTP_IDEMPOTENCY_KEY=key
    )


def claim_left_behind(key: str, *, age: timedelta) -> IdempotencyRecord:
    """The claim of a request that started `age` ago and never answered (its worker was killed)."""
    api_key = ApiKey.objects.get(kind="public", revoked_at__isnull=True)
    record = IdempotencyRecord.objects.create(
        api_key=api_key, key=key, request_hash=request_fingerprint("POST", URL, body())
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)
    return record


def test_a_claim_lives_shortly_past_the_longest_request_not_minutes(settings):
    lifetime = claim_lifetime().total_seconds()
    longest = stripe_call_max_seconds() + settings.BOOKING_LOCK_TIMEOUT_MS / 1000
    assert longest < lifetime <= longest + 10
    assert lifetime < 60  # was 120 s, whatever the request
    assert lifetime == 41.5  # defaults: Stripe 3 x 10 s + 1.5 s backoff, lock 5 s, margin 5 s


@pytest.mark.django_db
def test_the_claim_of_a_crashed_request_is_taken_over_once_it_has_expired(api_client, demo):
    claim_left_behind("crashed", age=claim_lifetime() + timedelta(seconds=1))

    retried = post(api_client, demo, "crashed")

    assert retried.status_code == 201, retried.json()
    assert Booking.objects.count() == 1
    assert post(api_client, demo, "crashed").json() == retried.json()  # and the key replays it from now on


@pytest.mark.django_db
def test_a_live_claim_still_answers_409_with_retry_after(api_client, demo):
    claim_left_behind("running", age=claim_lifetime() - timedelta(seconds=2))

    busy = post(api_client, demo, "running")

    assert busy.status_code == 409
    assert busy.json() == {"detail": "A request with this Idempotency-Key is still being processed"}
    assert busy["Retry-After"] == "1"
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_a_request_that_outlived_its_claim_cannot_store_its_answer(demo):
    api_key = ApiKey.objects.get(kind="public", revoked_at__isnull=True)
    started = timezone.now()
    slow = idempotency_claim(api_key=api_key, key="slow", fingerprint="f", now=started)
    assert isinstance(slow, IdempotencyRecord)
    retry = idempotency_claim(
        api_key=api_key, key="slow", fingerprint="f", now=started + claim_lifetime() + timedelta(seconds=1)
    )
    assert isinstance(retry, IdempotencyRecord) and retry.pk != slow.pk  # taken over

    with pytest.raises(Conflict):  # in the slow request's transaction: its work rolls back
        idempotency_complete(record=slow, status_code=201, body={"id": "first"})
    idempotency_complete(record=retry, status_code=201, body={"id": "second"})

    assert IdempotencyRecord.objects.get(key="slow").response_body == {"id": "second"}


@pytest.mark.django_db
def test_an_answered_claim_is_never_taken_over(demo):
    api_key = ApiKey.objects.get(kind="public", revoked_at__isnull=True)
    started = timezone.now()
    first = idempotency_claim(api_key=api_key, key="done", fingerprint="f", now=started)
    assert isinstance(first, IdempotencyRecord)
    idempotency_complete(record=first, status_code=201, body={"id": "first"})

    later = idempotency_claim(api_key=api_key, key="done", fingerprint="f", now=started + claim_lifetime() * 2)

    assert not isinstance(later, IdempotencyRecord)
    assert later.body == {"id": "first"}


def test_a_stripe_that_hangs_is_given_up_after_the_bounded_timeout(salon, settings):
    with StripeStandIn(delay_seconds=2) as standin:
        settings.STRIPE_SECRET_KEY = "sk_test_standin"
        settings.STRIPE_API_BASE = standin.url
        settings.STRIPE_TIMEOUT_SECONDS = 0.2

        with pytest.raises(PaymentProviderError):  # the library's own timeout (80 s) would have waited
            deposit_checkout_open(service=salon.color, location=salon.location, starts_at=salon.at(10))
