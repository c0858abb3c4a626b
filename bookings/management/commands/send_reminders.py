"""`manage.py send_reminders [--loop]`: write each booking's due reminder to the outbox once, and send it."""

from bookings.management.background import BackgroundCommand, Pass
from bookings.models import OutboundEmail
from bookings.notifications.outbox import emails_deliver
from bookings.notifications.reminders import reminders_queue


class Command(BackgroundCommand):
    help = (
        "Email each confirmed booking's reminder once, at its organization's lead time(s) (default 24 hours "
        "before). Several processes may run at once: each reminder is written and sent once."
    )
    interval = 60.0

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--batch", type=int, default=50, help="Reminders sent per delivery pass.")

    def background_pass(self, **options) -> Pass:
        batch = options["batch"]
        queued = reminders_queue()
        sent = 0
        while True:  # send what is due now; failures are retried by deliver_emails (or the next pass)
            run = emails_deliver(batch=batch, kinds=[OutboundEmail.Kind.REMINDER])
            sent += run.sent
            if run.total < batch:
                break
        return Pass(f"Reminders: {queued} due, {sent} sent", worked=bool(queued or sent))
