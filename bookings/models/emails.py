"""The email outbox: every email to a customer, rendered and stored in the transaction of its change.

A row holds the whole message (sender, recipients, subject, text, HTML, the invite), so a retry
days later sends exactly what the change produced, whatever happened to the booking since.
"""

from django.db import models
from django.db.models import Q

from organizations.compiled import CompiledInsertMixin
from organizations.models import Organization


class OutboundEmail(CompiledInsertMixin, models.Model):
    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Confirmation"
        RESCHEDULE = "reschedule", "Reschedule"
        CANCELLATION = "cancellation", "Cancellation"
        REMINDER = "reminder", "Reminder"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"
        DROPPED = "dropped", "Dropped (no longer true)"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="outbound_emails")
    booking = models.ForeignKey(
        "bookings.Booking", null=True, blank=True, on_delete=models.CASCADE, related_name="outbound_emails"
    )
    participant = models.ForeignKey(
        "bookings.Participant", null=True, blank=True, on_delete=models.CASCADE, related_name="outbound_emails"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Reminders only: which lead time and which start they announce (a moved booking gets new
    # ones), and the key that makes a second copy impossible, whoever inserts it.
    reminder_lead_minutes = models.PositiveIntegerField(null=True, blank=True)
    booking_starts_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    # The message, exactly as it will be sent.
    message_id = models.CharField(max_length=200)
    from_email = models.CharField(max_length=320)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    ics = models.TextField(blank=True)
    ics_method = models.CharField(max_length=16, blank=True, help_text="REQUEST or CANCEL")
    # Delivery.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Who is sending it now: a claim is valid until `next_attempt_at`, and only its holder may
    # record the outcome, so a send that outlived its lease cannot overwrite a newer one.
    claim_token = models.CharField(max_length=32, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # Every attempt: {"at": ISO 8601, "ok": bool, "error": str, "ms": int, "by": "request"|"worker"}.
    attempts = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="outbound_email_due"),
            models.Index(fields=["booking", "kind"], name="outbound_email_booking_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {', '.join(self.to)}: {self.subject}"
