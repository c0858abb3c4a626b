"""The load benchmark's email backend: the work the SMTP backend does before it talks to a server.

Why not locmem: it deep-copies every message into a list that grows for the whole run, work no
production backend does. This one does what `smtp.EmailBackend._send` does up to `sendmail`
(addresses sanitized, the message built and serialized), then drops the bytes.
"""

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            encoding = message.encoding or settings.DEFAULT_CHARSET
            sanitize_address(message.from_email, encoding)
            [sanitize_address(address, encoding) for address in message.recipients()]
            message.message().as_bytes(linesep="\r\n")
            sent += 1
        return sent
