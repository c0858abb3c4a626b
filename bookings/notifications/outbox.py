"""The email outbox: written in the change's transaction, tried once after commit, retried by a worker.

`emails_queue` inserts the rendered emails (one INSERT) inside the transaction of the change, so an
email is never lost and never sent for a change that rolled back. Each row is created already
claimed by its own request, with a short lease: after commit the request tries it once with
`EMAIL_REQUEST_TIMEOUT`, from the rows in memory (nothing is read or rendered again), and records
the outcome with one UPDATE. A failure (or a process that died first) leaves the row to
`manage.py deliver_emails`, which retries it with growing delays using `EMAIL_TIMEOUT`.

Workers claim due rows as webhook deliveries are claimed (bookings/webhook_delivery.py): in a short
transaction, `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite's IMMEDIATE transactions
serialize claims), moving `next_attempt_at` past twice the longest send (a lease) and stamping a
claim token; a worker starts no send in the second half of its lease and puts the rest of its batch
back. Only the token's holder may record the outcome, and no one else claims the row meanwhile, so
several workers never send one email twice. (A send that outlives its lease, or a process that
dies after the mail server accepted the message but before the outcome was written, can still
lead to a second copy: SMTP offers no way to ask. Every copy carries the same Message-ID.)
"""

import logging
import smtplib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.policy import Compat32
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Field
from django.utils import timezone

from bookings.ics import site_host
from bookings.models import Booking, BookingStatus, OutboundEmail, Participant
from bookings.notifications.content import RenderedEmail
from bookings.notifications.mime_written import boundary_new, mime_text

logger = logging.getLogger(__name__)

Status = OutboundEmail.Status
# After the n-th failed attempt, wait RETRY_DELAYS[n-1]; after the last, give up (about two days).
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
ERROR_CHARS = 500


def retry_delay(attempt_count: int) -> timedelta | None:
    """How long to wait after the `attempt_count`-th failed attempt; None: give up."""
    if attempt_count < 1 or attempt_count > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempt_count - 1]


def lease_duration(timeout: float) -> timedelta:
    """Longer than one send can take (SMTP's timeout applies to each of its network steps)."""
    return timedelta(seconds=timeout * 10 + 60)


def batch_lease_duration(timeout: float) -> timedelta:
    """A worker's claim: it starts no send after the first `lease_duration`, so each one it starts
    ends within the second, and the rest of its batch is released unsent (bookings of a slow
    mail server are not held for long, and a worker that dies frees its batch soon)."""
    return 2 * lease_duration(timeout)


def outbox_row(
    *, booking: Booking, rendered: RenderedEmail, now: datetime, claim_token: str = "", lease: timedelta | None = None
) -> OutboundEmail:
    """An unsaved outbox row holding the whole message."""
    return OutboundEmail(
        organization_id=booking.organization_id,
        booking=booking,
        participant=rendered.participant,
        kind=rendered.kind,
        booking_starts_at=booking.starts_at,
        message_id=make_msgid(domain=site_host()),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[rendered.to],
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        ics=rendered.ics,
        ics_method=rendered.ics_method,
        next_attempt_at=now + lease if lease else now,
        claim_token=claim_token,
    )


def emails_queue(*, booking: Booking, rendered: Sequence[RenderedEmail]) -> list[OutboundEmail]:
    """Store the emails in the caller's transaction and try them once it has committed."""
    if not rendered:
        return []
    queued = emails_prepare(booking=booking, rendered=rendered)
    if len(queued.rows) == 1:
        queued.rows[0].save(force_insert=True)
    else:
        OutboundEmail.objects.bulk_create(queued.rows)
    queued.send_after_commit()
    return queued.rows


@dataclass
class PreparedEmails:
    """Outbox rows not yet saved, claimed by the request that writes them (when it tries them)."""

    rows: list[OutboundEmail]
    token: str
    timeout: float

    def send_after_commit(self) -> None:
        """Once the rows are saved in the current transaction: try them when it has committed."""
        if self.token:
            # robust: whatever happens here, the change has committed and its answer must not fail.
            send = partial(outbox_send, self.rows, token=self.token, timeout=self.timeout, by="after-commit")
            transaction.on_commit(send, robust=True)


def emails_prepare(*, booking: Booking, rendered: Sequence[RenderedEmail]) -> PreparedEmails:
    """`emails_queue`'s rows, for a caller that saves them (with the booking's own INSERT, say) and
    then calls `send_after_commit`."""
    now = timezone.now()
    timeout = settings.EMAIL_REQUEST_TIMEOUT
    token = uuid.uuid4().hex if timeout > 0 else ""
    lease = lease_duration(timeout) if token else None
    rows = [outbox_row(booking=booking, rendered=r, now=now, claim_token=token, lease=lease) for r in rendered]
    return PreparedEmails(rows, token, timeout)


class _HeadersAsIs(Compat32):
    """Python's compat32 email policy (Django's), writing a header that needs no folding or encoding
    as it is: printable ASCII that fits on its line, which compat32 passes through its Header class
    only to write it unchanged. Every other header goes through compat32 itself.

    Why: that detour was a fifth of writing a confirmation's bytes (some twenty headers over its
    five MIME parts). The bytes are the same: tests/services/test_email_outbox.py compares them.
    """

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        limit = self.max_line_length or 0
        if isinstance(value, str) and value.isascii() and value.isprintable() and len(name) + 2 + len(value) <= limit:
            return f"{name}: {value}{self.linesep}"
        return str(super()._fold(name, value, sanitize))  # type: ignore[misc]  # typeshed leaves out _fold


HEADERS_AS_IS = _HeadersAsIs()


class _OutboxMessage(EmailMultiAlternatives):
    """An EmailMultiAlternatives whose MIME parts come with their boundaries, and whose message()
    is written directly when it is plain enough (bookings.notifications.mime_written).

    Why the boundaries: without one, Python's email generator makes a boundary for each multipart
    as it writes it, and compiles a new regular expression to check that the text does not contain
    it: a fifth of the CPU of sending a confirmation. A random boundary the parts' text does not
    contain is what it would have chosen.
    """

    def message(self, *args: Any, **kwargs: Any) -> Any:
        texts = [str(self.body), *(str(content) for content, _mimetype in self.alternatives)]
        texts += [str(attachment[1]) for attachment in self.attachments if isinstance(attachment, tuple | list)]
        boundaries = (boundary_new(texts), boundary_new(texts))
        text = self._written(boundaries)
        if text is not None and not args and not kwargs:
            return _WrittenMessage(text, partial(self._tree, boundaries, args, kwargs))
        return self._tree(boundaries, args, kwargs)

    def _tree(self, boundaries: tuple[str, str], args: Any, kwargs: Any) -> Any:
        mime = super().message(*args, **kwargs)
        unused = list(boundaries)
        for part in mime.walk():
            if part.is_multipart() and part.get_boundary() is None:
                part.set_boundary(unused.pop(0) if unused else boundary_new([]))
        mime.policy = HEADERS_AS_IS  # the generator writes every part's headers with it
        return mime

    def _written(self, boundaries: tuple[str, str]) -> str | None:
        """The message's text as mime_written writes it, for the one shape it writes (else None)."""
        alternatives, attachments = list(self.alternatives), list(self.attachments)
        subtypes = (self.content_subtype, getattr(self, "mixed_subtype", ""), getattr(self, "alternative_subtype", ""))
        if (
            not isinstance(self.subject, str) or not isinstance(self.body, str)
            or set(self.extra_headers) != {"Message-ID"}
            or self.cc or self.bcc or self.reply_to
            or (self.encoding or settings.DEFAULT_CHARSET).lower() != "utf-8"
            or subtypes != ("plain", "mixed", "alternative")
            or len(alternatives) != 1 or alternatives[0][1] != "text/html" or not isinstance(alternatives[0][0], str)
            or len(attachments) != 1 or not isinstance(attachments[0], tuple | list)
        ):  # fmt: skip
            return None
        filename, content, mimetype = attachments[0]
        method = mimetype.removeprefix("text/calendar; method=")
        if not (isinstance(content, str) and isinstance(filename, str) and method.isalpha() and method.isascii()):
            return None
        return mime_text(
            subject=self.subject,
            from_email=self.from_email,
            to=list(self.to),
            message_id=self.extra_headers["Message-ID"],
            body_text=self.body,
            body_html=alternatives[0][0],
            ics=content,
            ics_content_type=f'text/calendar; method="{method}"',
            ics_filename=filename,
            boundaries=boundaries,
        )


class _WrittenMessage:
    """What `_OutboxMessage.message()` gives when mime_written wrote it: `as_bytes()` (what the SMTP
    backend sends) gives the bytes the MIME tree would write; for anything else a backend may ask (a
    header, the parts, a string), the tree itself, built then, with the same boundaries."""

    def __init__(self, text: str, tree: Any):
        self._text = text
        self._build = tree
        self._tree: Any = None

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        """As Django's SafeMIMEMultipart.as_bytes (whose signature this is)."""
        if unixfrom:
            return bytes(self.tree().as_bytes(unixfrom, linesep=linesep))
        return self._text.replace("\n", linesep).encode()

    def as_string(self, unixfrom: bool = False, maxheaderlen: int = 0, policy: Any = None) -> str:
        return str(self.tree().as_string(unixfrom, maxheaderlen, policy))

    def tree(self) -> Any:
        if self._tree is None:
            self._tree = self._build()
        return self._tree

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tree(), name)

    def __getitem__(self, name: str) -> Any:
        return self.tree()[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tree()

    def __len__(self) -> int:
        return len(self.tree())

    def __iter__(self) -> Any:
        return iter(self.tree())


def email_message(row: OutboundEmail) -> EmailMultiAlternatives:
    """The stored email as Django sends it: text, its HTML alternative, the invite attached."""
    message = _OutboxMessage(
        subject=row.subject,
        body=row.body_text,
        from_email=row.from_email,
        to=list(row.to),
        headers={"Message-ID": row.message_id},
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    if row.ics:
        message.attach("invite.ics", row.ics, f"text/calendar; method={row.ics_method or 'REQUEST'}")
    return message


@dataclass
class Outcome:
    row: OutboundEmail
    error: str = ""
    ms: int = 0
    permanent: bool = False  # the mail server refused it for good (5xx): retrying cannot help
    tried: bool = True  # False: not started before the claim's deadline; released, not an attempt


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]


def _permanent(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException) and not isinstance(exc, smtplib.SMTPServerDisconnected):
        return 500 <= exc.smtp_code < 600
    return False


def _send_all(rows: Sequence[OutboundEmail], *, timeout: float, deadline: float | None = None) -> list[Outcome]:
    """Send each row over one connection; never raises. A lost connection stops the batch, and no
    send starts after `deadline` (a time.monotonic() value)."""
    outcomes: list[Outcome] = []
    try:
        connection = get_connection(timeout=timeout)
        connection.open()
    except Exception as exc:  # noqa: BLE001 - the mail server is down or misconfigured: all retried
        return [Outcome(row, _describe(exc)) for row in rows]
    broken = ""
    try:
        for row in rows:
            if deadline is not None and time.monotonic() > deadline:
                outcomes.append(Outcome(row, tried=False))
                continue
            if broken:
                outcomes.append(Outcome(row, f"not tried, the connection was lost: {broken}"[:ERROR_CHARS]))
                continue
            started = time.monotonic()
            outcome = Outcome(row)
            try:
                if not connection.send_messages([email_message(row)]):
                    outcome.error = "the email backend did not send it"
            except (smtplib.SMTPServerDisconnected, TimeoutError, ConnectionError) as exc:
                outcome.error = broken = _describe(exc)
            except Exception as exc:  # noqa: BLE001 - refused recipients, bad headers: recorded
                outcome.error, outcome.permanent = _describe(exc), _permanent(exc)
            outcome.ms = int((time.monotonic() - started) * 1000)
            outcomes.append(outcome)
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail too
            pass
    return outcomes


# The outcome UPDATE's SQL by backend and the columns it sets: every confirmation records its
# send, and building that UPDATE through the ORM cost about 0.25 ms of CPU, more than running it.
_OUTCOME_SQL: dict[tuple[str, tuple[str, ...]], tuple[str, list["Field[Any, Any]"]]] = {}


def _outcome_update(pk: int, token: str, changes: dict[str, object]) -> int:
    """`OutboundEmail.objects.filter(pk=pk, claim_token=token).update(**changes)`, its SQL built
    once per set of columns (an outbox row is no cache's input: nothing listens for its writes)."""
    conn = connections[DEFAULT_DB_ALIAS]
    key = (conn.vendor, tuple(changes))
    built = _OUTCOME_SQL.get(key)
    if built is None:
        meta, quote = OutboundEmail._meta, conn.ops.quote_name
        fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in changes]
        assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
        claim = cast("Field[Any, Any]", meta.get_field("claim_token"))
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {assignments}"
            f" WHERE {quote(str(meta.pk.column))} = %s AND {quote(str(claim.column))} = %s"
        )
        built = _OUTCOME_SQL[key] = (sql, fields)
    sql, fields = built
    params = [field.get_db_prep_save(changes[field.name], conn) for field in fields]
    with conn.cursor() as cursor:
        cursor.execute(sql, [*params, pk, token])
        return int(cursor.rowcount)


def _record(outcomes: Sequence[Outcome], *, token: str, now: datetime, by: str) -> None:
    """Write each outcome (only where this claim still holds): sent, a retry later, or given up."""
    for outcome in outcomes:
        row, error = outcome.row, outcome.error
        if not outcome.tried:  # back in the queue at once, for this worker's next pass or another's
            OutboundEmail.objects.filter(pk=row.pk, claim_token=token).update(claim_token="", next_attempt_at=now)
            continue
        attempts = [*row.attempts, {"at": now.isoformat(), "by": by, "ok": not error, "error": error, "ms": outcome.ms}]
        changes: dict[str, object] = {"attempt_count": row.attempt_count + 1, "attempts": attempts, "claim_token": ""}
        if not error:
            changes.update(status=Status.SENT, sent_at=now, last_error="")
        else:
            delay = None if outcome.permanent else retry_delay(row.attempt_count + 1)
            changes["last_error"] = error
            if delay is None:
                changes["status"] = Status.FAILED
            else:
                changes["next_attempt_at"] = now + delay
            logger.warning("Email %s to %s not sent (attempt %s): %s", row.pk, row.to, row.attempt_count + 1, error)
        if _outcome_update(row.pk, token, changes):
            for name, value in changes.items():
                setattr(row, name, value)
        else:
            logger.warning("Email %s: the claim ran out before its outcome was recorded", row.pk)


def outbox_send(rows: Sequence[OutboundEmail], *, token: str, timeout: float, by: str) -> int:
    """Send rows claimed with `token` and record every attempt; returns how many were sent.

    Never raises: it runs after a change has committed, whose answer must not turn into an error.
    """
    try:
        outcomes = _send_all(rows, timeout=timeout)
        now = timezone.now()
        if len(outcomes) == 1:
            _record(outcomes, token=token, now=now, by=by)
        else:
            with transaction.atomic():
                _record(outcomes, token=token, now=now, by=by)
        return sum(1 for outcome in outcomes if not outcome.error)
    except Exception:
        logger.exception("Could not send or record emails %s; deliver_emails retries them", [r.pk for r in rows])
        return 0


# --- The worker ---------------------------------------------------------------------------------


def emails_claim(*, now: datetime, batch: int, kinds: Sequence[str] | None = None) -> tuple[str, list[int]]:
    """Claim up to `batch` due emails for this worker; returns the claim token and their ids."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        due = OutboundEmail.objects.select_for_update(skip_locked=True).filter(
            status=Status.PENDING, next_attempt_at__lte=now
        )
        if kinds:
            due = due.filter(kind__in=kinds)
        ids = list(due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:batch])
        if ids:
            OutboundEmail.objects.filter(id__in=ids).update(
                next_attempt_at=now + batch_lease_duration(settings.EMAIL_TIMEOUT), claim_token=token
            )
    return token, ids


def _stale(row: OutboundEmail, now: datetime) -> str:
    """Why the email is no longer true (the booking moved, was cancelled, has started), or ""."""
    booking = row.booking
    if booking is None or row.kind == OutboundEmail.Kind.CANCELLATION:
        return ""
    if booking.status == BookingStatus.CANCELLED:
        return "the booking was cancelled"
    if row.booking_starts_at is not None and booking.starts_at != row.booking_starts_at:
        return "the booking was moved"
    if row.participant is not None and row.participant.status != Participant.Status.ACTIVE:
        return "the participant left"
    if row.kind == OutboundEmail.Kind.REMINDER:
        if booking.status != BookingStatus.CONFIRMED:
            return f"the booking is {booking.status}"
        if booking.starts_at <= now:
            return "the booking has started"
    return ""


@dataclass
class DeliveryRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    dropped: int = 0
    released: int = 0  # claimed but not tried before the claim's deadline
    rows: list[OutboundEmail] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed + self.dropped + self.released


def emails_deliver(*, now: datetime | None = None, batch: int = 50, kinds: Sequence[str] | None = None) -> DeliveryRun:
    """One pass: claim what is due at `now`, drop what is no longer true, send the rest.

    Pass `now` to drive time in tests.
    """
    now = now or timezone.now()
    run = DeliveryRun()
    token, ids = emails_claim(now=now, batch=batch, kinds=kinds)
    deadline = time.monotonic() + lease_duration(settings.EMAIL_TIMEOUT).total_seconds()
    if not ids:
        return run
    rows = list(
        OutboundEmail.objects.filter(id__in=ids, claim_token=token)
        .select_related("booking", "participant")
        .order_by("id")
    )
    to_send = []
    for row in rows:
        reason = _stale(row, now)
        if reason:
            OutboundEmail.objects.filter(pk=row.pk, claim_token=token).update(
                status=Status.DROPPED, last_error=f"Not sent: {reason}", claim_token=""
            )
            row.status = Status.DROPPED
            run.dropped += 1
        else:
            to_send.append(row)
    if to_send:
        outcomes = _send_all(to_send, timeout=settings.EMAIL_TIMEOUT, deadline=deadline)
        with transaction.atomic():
            _record(outcomes, token=token, now=now, by="worker")
        for outcome in outcomes:
            if not outcome.tried:
                run.released += 1
            elif outcome.row.status == Status.SENT:
                run.sent += 1
            elif outcome.row.status == Status.FAILED:
                run.failed += 1
            else:
                run.retrying += 1
    run.rows = rows
    return run
