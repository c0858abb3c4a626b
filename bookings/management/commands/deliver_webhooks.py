"""`manage.py deliver_webhooks [--loop]`: send the webhook outbox, retrying failures."""

from bookings.management.background import BackgroundCommand, Pass
from bookings.webhook_delivery import webhooks_deliver


class Command(BackgroundCommand):
    help = (
        "Send due webhook deliveries (signed POSTs), retrying failures over about three days. "
        "Several workers may run at once; each event is sent once."
    )
    interval = 5.0

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--batch", type=int, default=50, help="Deliveries claimed per pass.")

    def background_pass(self, **options) -> Pass:
        batch = options["batch"]
        run = webhooks_deliver(batch=batch)
        summary = f"Sent {run.total}: {run.succeeded} succeeded, {run.retrying} to retry, {run.failed} failed"
        return Pass(summary, worked=bool(run.total), more=run.total >= batch)
