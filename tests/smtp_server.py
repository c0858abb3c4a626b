"""A real SMTP server on loopback (aiosmtpd), for tests that send email the way production does.

port = free_port()            # nothing listens there yet: the mail server is "down"
with SmtpServer(port) as smtp:  # now it answers; smtp.messages are what arrived, parsed
    ...
"""

import asyncio
import email
import email.policy
import socket
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Collector:
    def __init__(self, delay: float):
        self.envelopes: list[Envelope] = []
        self.lock = threading.Lock()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int | None = None, *, delay: float = 0.0):
        """`delay`: seconds before each message is accepted (a slow mail server)."""
        self.port = port or free_port()
        self._collector = _Collector(delay)
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpServer":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    def use(self, settings) -> None:
        """Point Django's SMTP backend at this server (pytest-django's `settings` fixture)."""
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", self.port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False

    @property
    def messages(self) -> list[EmailMessage]:
        with self._collector.lock:
            envelopes = list(self._collector.envelopes)
        return [email.message_from_bytes(e.original_content or b"", policy=email.policy.default) for e in envelopes]

    @property
    def recipients(self) -> list[list[str]]:
        with self._collector.lock:
            return [list(e.rcpt_tos) for e in self._collector.envelopes]
