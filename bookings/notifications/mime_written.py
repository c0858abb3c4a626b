"""An outbox email's MIME bytes, written directly when Python's email package would write every line
of them unchanged.

Why: building the email.message tree of a confirmation (five parts, each header parsed and
re-checked) and generating its bytes cost about 0.5 ms of CPU for every email sent, the largest part
of sending one. The bytes are the same as the tree's: tests/services/test_email_outbox.py compares
them for emails of every kind and with generated headers and bodies. Anything the package would
change (a header to encode or fold, a body line over 998 bytes, a part missing) gets None here,
and the tree as before.

The shape is Django's EmailMultiAlternatives with one HTML alternative and one text attachment:

    multipart/mixed
        multipart/alternative
            text/plain
            text/html
        text/calendar (the invite, attached)
"""

import re
import uuid
from email.utils import formatdate

from django.conf import settings
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT

MAX_HEADER_LINE = 78  # compat32's max_line_length: a longer header line is folded
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")  # what the generator writes its line separator for
BOUNDARY = re.compile(r"={15}[0-9a-f]{32}==")  # boundary_new's


def boundary_new(texts: list[str]) -> str:
    """A multipart boundary none of `texts` contains, shaped as Python's own."""
    boundary = "=" * 15 + uuid.uuid4().hex + "=="
    while any(boundary in text for text in texts):
        boundary = "=" * 15 + uuid.uuid4().hex + "=="
    return boundary


def _fits(name: str, value: str) -> bool:
    """A header the package writes as it is: printable ASCII, on one line."""
    return value.isascii() and value.isprintable() and len(name) + 2 + len(value) <= MAX_HEADER_LINE


def _plain_body(text: str) -> bool:
    """A body Django sends as 7bit or 8bit text (no line over SMTP's limit: it would be quoted-printable)."""
    limit = RFC5322_EMAIL_LINE_LENGTH_LIMIT
    return all(len(line.encode(errors="surrogateescape")) <= limit for line in text.splitlines())


def _part(content_type: str, text: str, *, attached_as: str = "") -> str:
    """A text part: its headers as Django's SafeMIMEText gets them (an attachment's, with the content
    type set again after MIME-Version, and its Content-Disposition), then its body."""
    type_line = f'Content-Type: {content_type}; charset="utf-8"\n'
    if attached_as:
        headers = f"MIME-Version: 1.0\n{type_line}"
        after = f'Content-Disposition: attachment; filename="{attached_as}"\n'
    else:
        headers, after = f"{type_line}MIME-Version: 1.0\n", ""
    encoding = "7bit" if text.isascii() else "8bit"
    return f"{headers}Content-Transfer-Encoding: {encoding}\n{after}\n{_LINE_BREAKS.sub(chr(10), text)}"


def mime_text(
    *,
    subject: str,
    from_email: str,
    to: list[str],
    message_id: str,
    body_text: str,
    body_html: str,
    ics: str,
    ics_content_type: str,
    ics_filename: str,
    boundaries: tuple[str, str],
) -> str | None:
    """The message as `EmailMultiAlternatives.message().as_bytes()` writes it, lines separated by
    "\\n" (each body's line breaks too), or None when it would not be written line for line."""
    headers = [("Subject", subject), ("From", from_email), ("To", ", ".join(to)), ("Message-ID", message_id)]
    if not (to and body_text and body_html and ics) or not all(_fits(name, value) for name, value in headers):
        return None
    if not all(_plain_body(text) for text in (body_text, body_html, ics)):
        return None
    if not _fits("Content-Type", ics_content_type + '; charset="utf-8"'):
        return None
    disposition = f'attachment; filename="{ics_filename}"'
    if not _fits("Content-Disposition", disposition) or any(c in ics_filename for c in '"\\'):
        return None
    mixed, alternative = boundaries
    if not all(BOUNDARY.fullmatch(boundary) for boundary in boundaries):
        return None  # compat32 folds the Content-Type of a boundary of this shape, and only of it, as below
    date = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
    plain = _part("text/plain", body_text)
    html = _part("text/html", body_html)
    invite = _part(ics_content_type, ics, attached_as=ics_filename)
    return (
        f'Content-Type: multipart/mixed;\n boundary="{mixed}"\nMIME-Version: 1.0\n'
        f"Subject: {subject}\nFrom: {from_email}\nTo: {', '.join(to)}\nDate: {date}\nMessage-ID: {message_id}\n"
        f"\n--{mixed}\n"
        f'Content-Type: multipart/alternative;\n boundary="{alternative}"\nMIME-Version: 1.0\n'
        f"\n--{alternative}\n{plain}\n--{alternative}\n{html}\n--{alternative}--\n"
        f"\n--{mixed}\n{invite}\n--{mixed}--\n"
    )
