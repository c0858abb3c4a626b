"""`manage.py reconcile_deposits [--loop]`: the safety net behind the Stripe webhook."""

from bookings.management.background import BackgroundCommand, Pass
from bookings.payments.checkout import stripe_configured
from bookings.payments.reconciliation import deposits_reconcile


class Command(BackgroundCommand):
    help = (
        "Ask Stripe about pending deposits whose Checkout should be over and confirm or cancel them "
        "(the safety net for a missed Stripe webhook), and retry refunds of deposits paid after a cancellation."
    )
    interval = 300.0

    def handle(self, *args, loop: bool, **options):
        if loop and not stripe_configured():
            # Keep running (a Procfile runner stops every process when one exits), doing nothing.
            self.stdout.write("Stripe is not configured (STRIPE_SECRET_KEY): no deposits to reconcile.")
        super().handle(*args, loop=loop, **options)

    def background_pass(self, **options) -> Pass:
        outcomes = deposits_reconcile()
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "nothing to do"
        return Pass(f"Deposits: {summary}", worked=bool(outcomes))
