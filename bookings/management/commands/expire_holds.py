"""`manage.py expire_holds [--loop --interval SECONDS]`: tidy expired holds and tell webhooks.

Correctness never depends on this running: a hold stops blocking the moment `expires_at` passes.
"""

from bookings.management.background import BackgroundCommand, Pass
from bookings.services.holds import holds_expire


class Command(BackgroundCommand):
    help = "Mark holds past their expiry as expired (emitting hold.expired); --loop keeps running."
    interval = 30.0

    def background_pass(self, **options) -> Pass:
        count = holds_expire()
        # A loop beside the server (make run) stays quiet when idle.
        return Pass(f"Expired {count} hold{'s' if count != 1 else ''}.", worked=bool(count))
