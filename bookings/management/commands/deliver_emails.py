"""`manage.py deliver_emails [--loop]`: send the email outbox, retrying failures with growing delays."""

from bookings.management.background import BackgroundCommand, Pass
from bookings.notifications.outbox import emails_deliver


class Command(BackgroundCommand):
    help = (
        "Send due emails from the outbox (those the request could not send, and reminders), retrying "
        "failures with growing delays for about two days. Several workers may run at once; each email "
        "is sent once."
    )
    interval = 5.0

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--batch", type=int, default=50, help="Emails claimed per pass.")

    def background_pass(self, **options) -> Pass:
        batch = options["batch"]
        run = emails_deliver(batch=batch)
        summary = (
            f"Emails: {run.sent} sent, {run.retrying} to retry, {run.failed} failed, "
            f"{run.dropped} dropped (no longer true)"
        )
        return Pass(summary, worked=bool(run.total), more=run.total >= batch)
