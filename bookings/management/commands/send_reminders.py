"""`manage.py send_reminders [--loop]`: write each booking's due reminder to the outbox once, and send it."""

import time

from django.core.management.base import BaseCommand

from bookings.models import OutboundEmail
from bookings.notifications.outbox import emails_deliver
from bookings.notifications.reminders import reminders_queue


class Command(BaseCommand):
    help = (
        "Email each confirmed booking's reminder once, at its organization's lead time(s) (default 24 hours "
        "before). Several processes may run at once: each reminder is written and sent once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, every --interval seconds.")
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between passes with --loop.")
        parser.add_argument("--batch", type=int, default=50, help="Reminders sent per delivery pass.")

    def handle(self, *args, loop: bool, interval: float, batch: int, **options):
        while True:
            queued = reminders_queue()
            sent = 0
            while True:  # send what is due now; failures are retried by deliver_emails (or the next pass)
                run = emails_deliver(batch=batch, kinds=[OutboundEmail.Kind.REMINDER])
                sent += run.sent
                if run.total < batch:
                    break
            if queued or sent or not loop:
                self.stdout.write(f"Reminders: {queued} due, {sent} sent")
            if not loop:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return
