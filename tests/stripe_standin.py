"""A local stand-in for the few Stripe endpoints the platform calls, and Stripe-style event signing.

The real `stripe` library talks to it over HTTP (settings.STRIPE_API_BASE), so request encoding,
idempotency keys and response parsing are exercised for real.
"""

import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and parts[i + 1].isdigit()
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if last:
                    node[index] = value
                else:
                    if node[index] is None:
                        node[index] = [] if nxt_is_index else {}
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt_is_index else {})
    return root


class StripeStandIn:
    """Serves POST /v1/checkout/sessions, GET /v1/checkout/sessions/{id} and POST /v1/refunds, honouring
    Idempotency-Key. `pay(session_id)` completes a session as a customer paying it would.
    `fail_with`: every POST answers that status; `fail_refunds_with`: only refunds do; `delay_seconds`:
    every POST is answered that late (a Stripe that hangs)."""

    def __init__(self, *, fail_with: int | None = None, fail_refunds_with: int | None = None, delay_seconds: float = 0):
        self.fail_with = fail_with
        self.delay_seconds = delay_seconds
        self.fail_refunds_with = fail_refunds_with
        self.sessions: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.requests: list[dict] = []
        self._by_idempotency_key: dict[str, str] = {}
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                params = unflatten(parse_qsl(body, keep_blank_values=True))
                if standin.delay_seconds:
                    time.sleep(standin.delay_seconds)
                with standin._lock:
                    standin.requests.append(
                        {"method": "POST", "path": self.path, "headers": dict(self.headers), "params": params}
                    )
                    if standin.fail_with:
                        return self._json(standin.fail_with, {"error": {"type": "api_error", "message": "down"}})
                    key = self.headers.get("Idempotency-Key")
                    if self.path == "/v1/refunds":
                        if standin.fail_refunds_with:
                            error = {"error": {"type": "api_error", "message": "refunds down"}}
                            return self._json(standin.fail_refunds_with, error)
                        if key and key in standin._by_idempotency_key:
                            return self._json(200, standin.refunds[standin._by_idempotency_key[key]])
                        status, refund = standin._new_refund(params)
                        if status == 200 and key:
                            standin._by_idempotency_key[key] = refund["id"]
                        return self._json(status, refund)
                    if self.path != "/v1/checkout/sessions":
                        return self._json(404, {"error": {"type": "invalid_request_error", "message": "no route"}})
                    if key and key in standin._by_idempotency_key:
                        return self._json(200, standin.sessions[standin._by_idempotency_key[key]])
                    session = standin._new_session(params)
                    if key:
                        standin._by_idempotency_key[key] = session["id"]
                return self._json(200, session)

            def do_GET(self):
                with standin._lock:
                    standin.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
                    session_id = self.path.rsplit("/", 1)[-1]
                    session = standin.sessions.get(session_id)
                if self.path.startswith("/v1/checkout/sessions/") and session:
                    return self._json(200, session)
                return self._json(404, {"error": {"type": "invalid_request_error", "message": "No such session"}})

            def _json(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(6))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _new_session(self, params: dict) -> dict:
        session_id = "cs_test_" + secrets.token_hex(12)
        line = params["line_items"][0]
        amount = int(line["price_data"]["unit_amount"]) * int(line.get("quantity", 1))
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount,
            "currency": line["price_data"]["currency"],
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "metadata": params.get("metadata", {}),
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "expires_at": int(params.get("expires_at") or time.time() + 86400),
            "created": int(time.time()),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "payment_intent": None,
        }
        self.sessions[session_id] = session
        return session

    def pay(self, session_id: str) -> dict:
        """The customer pays: the session completes with a payment intent (what a refund names)."""
        with self._lock:
            session = self.sessions[session_id]
            session.update(status="complete", payment_status="paid", payment_intent="pi_test_" + secrets.token_hex(12))
            return dict(session)

    def _new_refund(self, params: dict) -> tuple[int, dict]:
        """A refund of a paid session's payment intent, at most what was paid (as Stripe refuses more)."""
        intent = params.get("payment_intent")
        paid = next((s for s in self.sessions.values() if intent and s.get("payment_intent") == intent), None)
        if paid is None:
            return 400, {"error": {"type": "invalid_request_error", "message": f"No such payment_intent: {intent}"}}
        amount = int(params.get("amount") or paid["amount_total"])
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent)
        if amount + refunded > paid["amount_total"]:
            return 400, {"error": {"type": "invalid_request_error", "message": "Refund exceeds the charge"}}
        refund = {
            "id": "re_test_" + secrets.token_hex(12),
            "object": "refund",
            "amount": amount,
            "currency": paid["currency"],
            "payment_intent": intent,
            "reason": params.get("reason"),
            "metadata": params.get("metadata", {}),
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return 200, refund

    @property
    def refund_requests(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/v1/refunds"]

    @property
    def created_sessions(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/v1/checkout/sessions"]

    def __enter__(self) -> "StripeStandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header the way Stripe computes it: HMAC-SHA256 of "<t>.<payload>"."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def stripe_event(event_type: str, session: dict, *, event_id: str | None = None, **changes) -> bytes:
    """The JSON body of a Stripe event about `session` (with `changes` applied to the session)."""
    event = {
        "id": event_id or "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "data": {"object": {**session, **changes}},
    }
    return json.dumps(event).encode()
