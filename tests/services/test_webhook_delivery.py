"""Webhook delivery to a real HTTP receiver: signatures, retries, 410, redirects, timeouts, workers."""

import json
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from bookings.webhook_delivery import MAX_ATTEMPTS, SIGNATURE_HEADER, webhook_signature, webhooks_deliver
from bookings.webhooks import webhook_emit
from organizations.models import ApiKey
from tests.factories import future_day, local_dt, make_key, make_org

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def local_receivers_allowed(settings):
    """These tests deliver to a receiver on 127.0.0.1 over http: the development flag allows it
    (production refuses both; tests/services/test_webhook_targets.py)."""
    settings.WEBHOOK_ALLOW_INSECURE = True


class Receiver:
    """A threaded http.server that records every request and answers from a script of statuses."""

    def __init__(self, statuses=(200,), delay: float = 0.0):
        self.statuses = list(statuses)
        self.delay = delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "/elsewhere")
                payload = f"answer {status}".encode()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A client that timed out hung up: nothing to report (an instance attribute shadows the method).
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign,assignment]
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def emit(org, n: int = 1) -> list:
    return [webhook_emit(organization=org, event_type="booking.created", data={"id": f"book_{i}"}) for i in range(n)]


@pytest.mark.django_db
def test_receiver_that_fails_twice_then_succeeds_gets_three_signed_attempts():
    org = make_org()
    with Receiver(statuses=[500, 503, 200]) as receiver:
        endpoint = WebhookEndpoint.objects.create(organization=org, url=receiver.url)
        (event,) = emit(org)
        t0 = timezone.now()

        assert webhooks_deliver(now=t0).retrying == 1
        assert webhooks_deliver(now=t0 + timedelta(seconds=29)).total == 0, "not due before 30 s"
        assert webhooks_deliver(now=t0 + timedelta(seconds=31)).retrying == 1
        assert webhooks_deliver(now=t0 + timedelta(seconds=31 + 119)).total == 0, "then 2 min"
        run = webhooks_deliver(now=t0 + timedelta(seconds=31 + 121))
        assert run.succeeded == 1

    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 3)
    assert delivery.delivered_at is not None
    attempts = list(delivery.attempts.order_by("id"))
    assert [a.status_code for a in attempts] == [500, 503, 200]
    assert [a.error for a in attempts] == ["HTTP 500", "HTTP 503", ""]
    assert attempts[0].response_excerpt == "answer 500"
    assert all(a.duration_ms >= 0 for a in attempts)

    assert len(receiver.requests) == 3
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1, "every retry sends the same event"
    payload = json.loads(bodies.pop())
    assert payload == {
        "id": str(event.uuid),
        "type": "booking.created",
        "created": event.created_at.isoformat(),
        "data": {"id": "book_0"},
    }
    for request in receiver.requests:
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["Webhook-Id"] == str(event.uuid)
        header = request["headers"][SIGNATURE_HEADER]
        timestamp = int(re.match(r"t=(\d+),v1=[0-9a-f]{64}$", header).group(1))
        assert abs(time.time() - timestamp) < 60
        assert header == webhook_signature(secret=endpoint.secret, timestamp=timestamp, body=request["body"])


@pytest.mark.django_db
def test_gives_up_after_the_last_retry_about_three_days_later():
    org = make_org()
    with Receiver(statuses=[500]) as receiver:
        WebhookEndpoint.objects.create(organization=org, url=receiver.url)
        emit(org)
        now = timezone.now()
        for _ in range(MAX_ATTEMPTS):
            webhooks_deliver(now=now)
            now = WebhookDelivery.objects.get().next_attempt_at
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempt_count) == ("failed", 8)
    assert len(receiver.requests) == 8
    assert webhooks_deliver(now=now + timedelta(days=30)).total == 0
    assert delivery.attempts.count() == 8


@pytest.mark.django_db
def test_retry_schedule_spans_about_three_days():
    from bookings.webhook_delivery import RETRY_DELAYS

    assert [int(d.total_seconds()) for d in RETRY_DELAYS] == [30, 120, 600, 3600, 21600, 86400, 172800]
    assert timedelta(days=3) < sum(RETRY_DELAYS, timedelta()) < timedelta(days=3, hours=8)


@pytest.mark.django_db
def test_410_disables_the_endpoint_and_nothing_more_is_sent():
    org = make_org()
    with Receiver(statuses=[410]) as receiver:
        endpoint = WebhookEndpoint.objects.create(organization=org, url=receiver.url)
        emit(org, 2)
        run = webhooks_deliver(batch=1)
        assert run.failed == 1
        endpoint.refresh_from_db()
        assert endpoint.active is False
        assert "410" in endpoint.disabled_reason
        assert webhooks_deliver(now=timezone.now() + timedelta(days=1)).total == 0
        emit(org)  # a disabled endpoint gets no new deliveries either
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2


@pytest.mark.django_db
def test_redirects_are_not_followed():
    org = make_org()
    with Receiver(statuses=[302]) as receiver:
        WebhookEndpoint.objects.create(organization=org, url=receiver.url)
        emit(org)
        assert webhooks_deliver().retrying == 1
    assert [r["path"] for r in receiver.requests] == ["/hooks"]
    assert WebhookAttempt.objects.get().status_code == 302


@pytest.mark.django_db
def test_a_slow_receiver_times_out_and_is_retried(settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    org = make_org()
    with Receiver(statuses=[200], delay=1.0) as receiver:
        WebhookEndpoint.objects.create(organization=org, url=receiver.url)
        emit(org)
        assert webhooks_deliver().retrying == 1
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "timed out" in attempt.error.lower()
    assert attempt.duration_ms < 1000


@pytest.mark.django_db
def test_unreachable_endpoint_is_recorded_and_retried():
    org = make_org()
    WebhookEndpoint.objects.create(organization=org, url="http://127.0.0.1:9/nothing-listens-here")
    emit(org)
    assert webhooks_deliver().retrying == 1
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.error


@pytest.mark.django_db
def test_endpoints_get_only_subscribed_events_of_their_organization():
    org, other = make_org(), make_org()
    with Receiver() as receiver:
        WebhookEndpoint.objects.create(organization=org, url=receiver.url, events=["booking.cancelled"])
        webhook_emit(organization=org, event_type="booking.created", data={})
        webhook_emit(organization=other, event_type="booking.cancelled", data={})
        webhook_emit(organization=org, event_type="booking.cancelled", data={"id": "b"})
        assert webhooks_deliver().succeeded == 1
    assert json.loads(receiver.requests[0]["body"])["data"] == {"id": "b"}


@pytest.mark.django_db
def test_deliver_webhooks_command_reports_one_pass():
    org = make_org()
    with Receiver() as receiver:
        WebhookEndpoint.objects.create(organization=org, url=receiver.url)
        emit(org, 3)
        out = StringIO()
        call_command("deliver_webhooks", "--batch", "2", stdout=out)
        assert out.getvalue().strip() == "Sent 2: 2 succeeded, 0 to retry, 0 failed"
        call_command("deliver_webhooks", stdout=out)
    assert len(receiver.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_two_workers_deliver_each_event_exactly_once():
    """Runs on both databases; on PostgreSQL the claim uses SELECT ... FOR UPDATE SKIP LOCKED."""
    org = make_org()
    with Receiver(delay=0.005) as receiver:
        WebhookEndpoint.objects.create(organization=org, url=receiver.url)
        events = emit(org, 30)
        start = threading.Barrier(2)
        errors = []

        def worker():
            try:
                start.wait()
                while webhooks_deliver(batch=3).total:
                    pass
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    received = [json.loads(r["body"])["id"] for r in receiver.requests]
    assert sorted(received) == sorted(str(e.uuid) for e in events)
    assert WebhookDelivery.objects.filter(status="succeeded", attempt_count=1).count() == 30
    assert WebhookAttempt.objects.count() == 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_postgresql_both_take_part():
    """With SKIP LOCKED, a worker does not wait for the other's claim: both deliver some events."""
    org = make_org()
    with Receiver(delay=0.02) as receiver:
        WebhookEndpoint.objects.create(organization=org, url=receiver.url)
        emit(org, 20)
        counts = {}
        start = threading.Barrier(2)

        def worker(name):
            try:
                start.wait()
                total = 0
                while n := webhooks_deliver(batch=2).total:
                    total += n
                counts[name] = total
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sum(counts.values()) == 20
    assert len(receiver.requests) == 20
    assert min(counts.values()) > 0


def readme_recipe() -> str:
    text = README.read_text()
    section = text[text.index("## Webhooks") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's Webhooks section has a Python recipe"
    return match.group(1)


def test_readme_recipe_verifies_a_delivery_signature():
    namespace: dict = {}
    exec(readme_recipe(), namespace)  # noqa: S102 - the README's own code, as a receiver would paste it
    verify = namespace["verify_webhook"]
    secret, body = "whsec_test", b'{"id":"e1","type":"booking.created"}'
    header = webhook_signature(secret=secret, timestamp=int(time.time()), body=body)
    assert verify(body, header, secret) is True
    assert verify(body + b" ", header, secret) is False
    assert verify(body, header, "whsec_other") is False
    old = webhook_signature(secret=secret, timestamp=int(time.time()) - 3600, body=body)
    assert verify(body, old, secret) is False, "an old signature is refused (replay)"
    assert verify(body, "garbage", secret) is False


# --- /api/v1/webhook-endpoints ------------------------------------------------------------------


def key_client(*orgs, kind=ApiKey.Kind.BUSINESS) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(*orgs, kind=kind)[1]}")
    return client


@pytest.mark.django_db
def test_endpoint_api_shows_the_secret_once():
    org = make_org()
    api = key_client(org)
    created = api.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example/in", "events": ["booking.cancelled", "booking.created"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    endpoint = WebhookEndpoint.objects.get(uuid=body["id"])
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert (body["organization"], body["events"], body["active"]) == (
        org.slug,
        ["booking.cancelled", "booking.created"],
        True,
    )
    shown = api.get(f"/api/v1/webhook-endpoints/{body['id']}").json()
    assert "secret" not in shown
    assert [e["id"] for e in api.get("/api/v1/webhook-endpoints").json()["results"]] == [body["id"]]


@pytest.mark.django_db
def test_endpoint_api_validates_and_scopes():
    org, other = make_org(), make_org()
    api = key_client(org)
    bad_event = api.post("/api/v1/webhook-endpoints", {"url": "https://x.example", "events": ["booking.eaten"]})
    assert bad_event.status_code == 400
    assert bad_event.json() == {"detail": 'events.0: "booking.eaten" is not a valid choice.'}
    assert api.post("/api/v1/webhook-endpoints", {"url": "ftp://x.example"}).status_code == 400
    assert (
        api.post("/api/v1/webhook-endpoints", {"url": "https://x.example", "organization": other.slug}).status_code
        == 400
    )
    foreign = WebhookEndpoint.objects.create(organization=other, url="https://other.example")
    assert api.get(f"/api/v1/webhook-endpoints/{foreign.uuid}").status_code == 404
    assert api.delete(f"/api/v1/webhook-endpoints/{foreign.uuid}").status_code == 404
    assert api.get("/api/v1/webhook-endpoints/not-a-uuid").status_code == 404
    assert key_client(org, kind=ApiKey.Kind.SESSION).get("/api/v1/webhook-endpoints").status_code == 403
    hub = key_client(org, other, kind=ApiKey.Kind.HUB)
    assert hub.post("/api/v1/webhook-endpoints", {"url": "https://x.example"}).json() == {
        "detail": "organization is required"
    }
    assert (
        hub.post("/api/v1/webhook-endpoints", {"url": "https://x.example", "organization": other.slug}).status_code
        == 201
    )


@pytest.mark.django_db
def test_reactivating_a_disabled_endpoint_clears_the_reason():
    org = make_org()
    endpoint = WebhookEndpoint.objects.create(
        organization=org, url="https://x.example", active=False, disabled_reason="410"
    )
    api = key_client(org)
    response = api.patch(f"/api/v1/webhook-endpoints/{endpoint.uuid}", {"active": True}, format="json")
    assert (response.json()["active"], response.json()["disabled_reason"]) == (True, "")
    assert api.delete(f"/api/v1/webhook-endpoints/{endpoint.uuid}").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_booking_made_through_the_api_reaches_the_receiver(demo, api_client):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {demo['keys']['business']}")
    with Receiver() as receiver:
        secret = api_client.post("/api/v1/webhook-endpoints", {"url": receiver.url}).json()["secret"]
        starts_at = local_dt("America/New_York", future_day(weekday=2), 11)
        hold = api_client.post(
            "/api/v1/bookings/hold",
            {
                "service_id": demo["services"]["haircut"]["uuid"],
                "location_id": demo["location"]["uuid"],
                "starts_at": starts_at.isoformat(),
            },
        ).json()
        client = {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}
        booking = api_client.post("/api/v1/bookings", {"hold_id": hold["hold_id"], "client": client}).json()
        api_client.delete(f"/api/v1/bookings/{booking['id']}")
        assert webhooks_deliver().succeeded == 2
    types = [json.loads(r["body"])["type"] for r in receiver.requests]
    assert types == ["booking.created", "booking.cancelled"]
    first = receiver.requests[0]
    namespace: dict = {}
    exec(readme_recipe(), namespace)  # noqa: S102 - verified the way the README tells receivers to
    assert namespace["verify_webhook"](first["body"], first["headers"][SIGNATURE_HEADER], secret) is True
    assert json.loads(first["body"])["data"]["id"] == booking["id"]


@pytest.mark.django_db
def test_admin_adds_an_endpoint_shows_its_secret_once_and_rotates_it(client):
    org = make_org()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    response = client.post(
        "/admin/bookings/webhookendpoint/add/",
        {"organization": org.pk, "url": "https://hooks.example/in", "events": ["booking.created"], "active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["booking.created"]
    assert endpoint.secret in response.content.decode()
    page = client.get(f"/admin/bookings/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page

    old = endpoint.secret
    response = client.post(
        "/admin/bookings/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("redis_url", ["", "redis://shared"])
def test_an_endpoint_added_or_reactivated_gets_the_very_next_event(settings, redis_url):
    """With a shared cache, whether an organization has endpoints is cached (bookings/catalog_cache.py):
    any change to its endpoints shows in the next event. Without one it is read every time."""
    settings.REDIS_URL = redis_url  # the cache itself stays in memory: only the choice is tested
    org = make_org()
    emit(org)  # no endpoint yet: nothing to deliver
    endpoint = WebhookEndpoint.objects.create(organization=org, url="https://x.example")
    emit(org)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
    api = key_client(org)
    api.patch(f"/api/v1/webhook-endpoints/{endpoint.uuid}", {"active": False}, format="json")
    emit(org)
    api.patch(f"/api/v1/webhook-endpoints/{endpoint.uuid}", {"active": True}, format="json")
    emit(org)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2
