"""`manage.py expire_holds [--loop --interval SECONDS]`: tidy expired holds and tell webhooks.

Correctness never depends on this running: a hold stops blocking the moment `expires_at` passes.
"""

import time

from django.core.management.base import BaseCommand

from bookings.services.holds import holds_expire


class Command(BaseCommand):
    help = "Mark holds past their expiry as expired (emitting hold.expired); --loop keeps running."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running (for a process manager).")
        parser.add_argument("--interval", type=float, default=30.0, help="Seconds between runs with --loop.")

    def handle(self, *args, loop: bool, interval: float, **options):
        while True:
            count = holds_expire()
            if count or not loop:  # a loop beside the server (make run) stays quiet when idle
                self.stdout.write(f"Expired {count} hold{'s' if count != 1 else ''}.")
            if not loop:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return
