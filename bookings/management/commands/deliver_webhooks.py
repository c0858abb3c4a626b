import time

from django.core.management.base import BaseCommand

from bookings.webhook_delivery import webhooks_deliver


class Command(BaseCommand):
    help = (
        "Send due webhook deliveries (signed POSTs), retrying failures over about three days. "
        "Several workers may run at once; each event is sent once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, polling every --interval seconds.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between passes with --loop.")
        parser.add_argument("--batch", type=int, default=50, help="Deliveries claimed per pass.")

    def handle(self, *args, loop: bool, interval: float, batch: int, **options):
        while True:
            run = webhooks_deliver(batch=batch)
            if run.total or not loop:
                self.stdout.write(
                    f"Sent {run.total}: {run.succeeded} succeeded, {run.retrying} to retry, {run.failed} failed"
                )
            if not loop:
                return
            if run.total < batch:  # caught up: wait; otherwise take the next batch at once
                try:
                    time.sleep(interval)
                except KeyboardInterrupt:
                    return
