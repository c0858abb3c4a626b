import time

from django.core.management.base import BaseCommand

from bookings.payments.checkout import stripe_configured
from bookings.payments.reconciliation import deposits_reconcile


class Command(BaseCommand):
    help = (
        "Ask Stripe about pending deposits whose Checkout should be over and confirm or cancel them "
        "(the safety net for a missed Stripe webhook)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, every --interval seconds.")
        parser.add_argument("--interval", type=float, default=300.0, help="Seconds between passes with --loop.")

    def handle(self, *args, loop: bool, interval: float, **options):
        if loop and not stripe_configured():
            # Keep running (a Procfile runner stops every process when one exits), doing nothing.
            self.stdout.write("Stripe is not configured (STRIPE_SECRET_KEY): no deposits to reconcile.")
        while True:
            outcomes = deposits_reconcile()
            if outcomes or not loop:
                summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "nothing to do"
                self.stdout.write(f"Deposits: {summary}")
            if not loop:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return
