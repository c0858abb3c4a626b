from django.core.management.base import BaseCommand

from bookings.services.idempotency import idempotency_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than 24 hours (run it from cron, e.g. hourly)."

    def handle(self, *args, **options):
        deleted = idempotency_purge()
        self.stdout.write(f"Deleted {deleted} idempotency record(s).")
