"""`manage.py deliver_emails [--loop]`: send the email outbox, retrying failures with growing delays."""

import time

from django.core.management.base import BaseCommand

from bookings.notifications.outbox import emails_deliver


class Command(BaseCommand):
    help = (
        "Send due emails from the outbox (those the request could not send, and reminders), retrying "
        "failures with growing delays for about two days. Several workers may run at once; each email "
        "is sent once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, polling every --interval seconds.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between passes with --loop.")
        parser.add_argument("--batch", type=int, default=50, help="Emails claimed per pass.")

    def handle(self, *args, loop: bool, interval: float, batch: int, **options):
        while True:
            run = emails_deliver(batch=batch)
            if run.total or not loop:
                self.stdout.write(
                    f"Emails: {run.sent} sent, {run.retrying} to retry, {run.failed} failed, "
                    f"{run.dropped} dropped (no longer true)"
                )
            if not loop:
                return
            if run.total < batch:  # caught up: wait; otherwise take the next batch at once
                try:
                    time.sleep(interval)
                except KeyboardInterrupt:
                    return
