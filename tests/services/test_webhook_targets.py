"""Webhooks never reach the platform's own network: refused at registration and at delivery (SSRF)."""

import socket

import pytest
from django.contrib.auth import get_user_model

from bookings.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from bookings.webhook_delivery import webhooks_deliver
from bookings.webhook_targets import WebhookTargetRefused, webhook_url_check
from bookings.webhooks import webhook_emit
from organizations.models import ApiKey
from tests.factories import make_org
from tests.services.test_webhook_delivery import Receiver, key_client

LOCAL_URLS = [
    "https://127.0.0.1/hooks",
    "https://localhost/hooks",
    "https://10.0.0.5/hooks",
    "https://172.16.3.4/hooks",
    "https://192.168.1.1/hooks",
    "https://100.64.0.1/hooks",  # shared address space (carrier NAT)
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
    "https://0.0.0.0/hooks",
    "https://224.0.0.1/hooks",
    "https://240.0.0.1/hooks",
    "https://[::1]/hooks",
    "https://[::]/hooks",
    "https://[fe80::1]/hooks",
    "https://[fd00::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[::ffff:10.0.0.1]/hooks",
]


def fake_dns(monkeypatch, answers: dict[str, list[str]]):
    """Names resolve to what `answers` says, in turn (the last answer repeats); other names fail."""
    calls: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        calls.append(host)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


@pytest.mark.django_db
@pytest.mark.parametrize("url", LOCAL_URLS)
def test_registering_a_local_or_private_address_is_refused(url):
    api = key_client(make_org())
    response = api.post("/api/v1/webhook-endpoints", {"url": url}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["detail"].startswith("url: ")
    assert "public addresses only" in response.json()["detail"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_local_receiver_over_http_is_refused_without_the_development_flag(settings):
    settings.WEBHOOK_ALLOW_INSECURE = False
    api = key_client(make_org())
    with Receiver() as receiver:
        response = api.post("/api/v1/webhook-endpoints", {"url": receiver.url}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "url: must be an https URL (http is allowed only in development)"}
    plain = api.post("/api/v1/webhook-endpoints", {"url": "http://hooks.example/in"}, format="json")
    assert plain.status_code == 400 and "https" in plain.json()["detail"]


@pytest.mark.django_db
def test_a_name_that_resolves_to_a_private_address_is_refused(monkeypatch):
    fake_dns(monkeypatch, {"intranet.example.com": ["10.1.2.3"]})
    api = key_client(make_org())
    response = api.post("/api/v1/webhook-endpoints", {"url": "https://intranet.example.com/in"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "url: intranet.example.com is a local, private or reserved address (10.1.2.3); "
        "webhooks go to public addresses only"
    }


@pytest.mark.django_db
def test_changing_an_endpoint_to_a_local_address_is_refused():
    org = make_org()
    endpoint = WebhookEndpoint.objects.create(organization=org, url="https://hooks.example/in")
    api = key_client(org)
    response = api.patch(
        f"/api/v1/webhook-endpoints/{endpoint.uuid}", {"url": "https://169.254.169.254/"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("url: 169.254.169.254 is a local")
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example/in"


@pytest.mark.django_db
def test_public_https_urls_are_accepted(monkeypatch):
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34"]})
    api = key_client(make_org(), kind=ApiKey.Kind.BUSINESS)
    for url in ("https://hooks.example.com/in", "https://93.184.216.34/in", "https://not-resolving.example/in"):
        assert api.post("/api/v1/webhook-endpoints", {"url": url}, format="json").status_code == 201, url


@pytest.mark.django_db
def test_the_admin_form_refuses_a_local_address(client):
    org = make_org()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    response = client.post(
        "/admin/bookings/webhookendpoint/add/",
        {"organization": org.pk, "url": "https://192.168.0.10/hooks", "active": "on"},
    )
    assert response.status_code == 200
    assert "192.168.0.10 is a local, private or reserved address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", ["https://127.1/hooks", "https://2130706433/hooks", "https://0x7f.1/hooks"])
def test_loopback_written_the_way_a_resolver_reads_it_is_refused(url):
    """The API's and the admin's URL fields already refuse these spellings; the check does too."""
    with pytest.raises(WebhookTargetRefused, match="127.0.0.1"):
        webhook_url_check(url=url)


@pytest.mark.django_db
def test_the_development_flag_allows_a_local_receiver(settings):
    settings.WEBHOOK_ALLOW_INSECURE = True
    webhook_url_check(url="http://127.0.0.1:8001/hooks")  # no error


@pytest.mark.django_db
def test_delivery_to_a_local_address_is_a_failed_attempt_and_nothing_is_sent(settings):
    """An endpoint stored before the check existed (or written around it) is refused at delivery."""
    settings.WEBHOOK_ALLOW_INSECURE = False
    org = make_org()
    with Receiver() as receiver:
        WebhookEndpoint.objects.create(organization=org, url=receiver.url.replace("http://", "https://"))
        webhook_emit(organization=org, event_type="booking.created", data={"id": "b"})
        assert webhooks_deliver().retrying == 1
    assert receiver.requests == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.response_excerpt == ""
    assert attempt.error.startswith("Refused: url: 127.0.0.1 is a local, private or reserved address")


@pytest.mark.django_db
def test_a_name_that_resolves_elsewhere_at_delivery_is_refused(monkeypatch):
    """DNS rebinding: public when registered, loopback when delivered."""
    fake_dns(monkeypatch, {"rebind.example.com": ["93.184.216.34", "127.0.0.1"]})
    org = make_org()
    api = key_client(org)
    assert api.post("/api/v1/webhook-endpoints", {"url": "https://rebind.example.com/in"}).status_code == 201
    webhook_emit(organization=org, event_type="booking.created", data={"id": "b"})
    assert webhooks_deliver().retrying == 1
    assert WebhookAttempt.objects.get().error.startswith("Refused: url: rebind.example.com is a local")
    assert WebhookDelivery.objects.get().status == "pending"


@pytest.mark.django_db
def test_delivery_connects_to_the_address_it_checked(monkeypatch):
    """A name is resolved once per delivery; the connection goes to the checked address, so a second
    answer (rebound to loopback) is never used."""
    calls = fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34", "127.0.0.1"]})
    connected = []

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    org = make_org()
    WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com:8443/in")
    webhook_emit(organization=org, event_type="booking.created", data={"id": "b"})
    assert webhooks_deliver().retrying == 1
    assert calls == ["hooks.example.com"]
    assert connected == [("93.184.216.34", 8443)]


@pytest.mark.django_db
def test_a_pinned_delivery_keeps_the_host_name_in_its_request(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_INSECURE = True
    org = make_org()
    with Receiver() as receiver:
        port = receiver.server.server_port
        fake_dns(monkeypatch, {"receiver.test": ["127.0.0.1"]})
        WebhookEndpoint.objects.create(organization=org, url=f"http://receiver.test:{port}/hooks?x=1")
        webhook_emit(organization=org, event_type="booking.created", data={"id": "b"})
        assert webhooks_deliver().succeeded == 1
    (request,) = receiver.requests
    assert request["path"] == "/hooks?x=1"
    assert request["headers"]["Host"] == f"receiver.test:{port}"


@pytest.mark.django_db
def test_a_pinned_https_delivery_verifies_the_certificate_for_the_host_name(settings, monkeypatch, tmp_path):
    """TLS to the checked address: SNI and the certificate check use the URL's host name."""
    import http.server
    import shutil
    import ssl
    import subprocess
    import threading

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=receiver.test",
         "-addext", "subjectAltName=DNS:receiver.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    seen = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen["host"] = self.headers["Host"]
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server_context.sni_callback = lambda sock, name, ctx: seen.update(sni=name)  # None: carry on
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        settings.WEBHOOK_ALLOW_INSECURE = True  # the receiver is on loopback
        port = server.server_address[1]
        fake_dns(monkeypatch, {"receiver.test": ["127.0.0.1"], "elsewhere.test": ["127.0.0.1"]})
        trusted = ssl.create_default_context(cafile=str(cert))
        monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: trusted)
        org = make_org()
        good = WebhookEndpoint.objects.create(organization=org, url=f"https://receiver.test:{port}/hooks")
        webhook_emit(organization=org, event_type="booking.created", data={"id": "b"})
        assert webhooks_deliver().succeeded == 1
        assert seen == {"sni": "receiver.test", "host": f"receiver.test:{port}"}

        good.delete()
        WebhookEndpoint.objects.create(organization=org, url=f"https://elsewhere.test:{port}/hooks")
        webhook_emit(organization=org, event_type="booking.created", data={"id": "c"})
        assert webhooks_deliver().retrying == 1, "a certificate for another name is refused"
        assert "certificate" in WebhookAttempt.objects.latest("id").error.lower()
    finally:
        server.shutdown()
        server.server_close()
