import json
import secrets
from datetime import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from organizations.keys import api_key_create
from organizations.models import (
    ApiKey,
    Customer,
    Location,
    Membership,
    Organization,
    Service,
    StaffMember,
    WorkingHours,
)

ADMIN_USERNAME = "merchant"
DEMO_KEY_PREFIX = "demo "
OPEN_DAYS = range(0, 6)  # Monday to Saturday
OPENS, CLOSES = time(9, 0), time(18, 0)


class Command(BaseCommand):
    help = "Create the demo organization (acme-salon) the reference examples use. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object and nothing else.")
        parser.add_argument(
            "--force", action="store_true", help="Run even where DEBUG is false (the demo has a known admin user)."
        )

    def handle(self, *args, **options):
        # A production database gets no demo organization and no demo admin by accident.
        if not settings.DEMO_SEED_ALLOWED and not options["force"]:
            raise CommandError("seed_demo creates a demo admin user: it runs with DEBUG=true only (or with --force).")
        with transaction.atomic():
            self._seed(options)

    def _seed(self, options):
        org, _ = Organization.objects.get_or_create(
            slug="acme-salon", defaults={"name": "Acme Salon", "timezone": "America/New_York", "currency": "USD"}
        )
        location, _ = Location.objects.get_or_create(
            organization=org,
            name="Main Street",
            defaults={"kind": Location.Kind.ONSITE, "value": "123 Main St, Suite 100"},
        )
        staff = [StaffMember.objects.get_or_create(organization=org, name=name)[0] for name in ("Alex", "Sam")]
        owners: list[dict[str, Any]] = [{"location": location}, *[{"staff": member} for member in staff]]
        for owner in owners:
            for weekday in OPEN_DAYS:
                WorkingHours.objects.get_or_create(
                    organization=org, weekday=weekday, start_time=OPENS, end_time=CLOSES, **owner
                )
        services = {}
        for slug, defaults, with_staff in [
            (
                "haircut",
                {"name": "Haircut", "duration_minutes": 60, "slot_interval_minutes": 30, "price_minor": 4500},
                True,
            ),
            (
                "yoga-class",
                {
                    "name": "Yoga Class",
                    "kind": Service.Kind.GROUP,
                    "duration_minutes": 60,
                    "capacity_min": 2,
                    "capacity_max": 12,
                    "price_minor": 2000,
                },
                False,
            ),
            (
                "color-treatment",
                {
                    "name": "Color Treatment",
                    "duration_minutes": 90,
                    "slot_interval_minutes": 30,
                    "price_minor": 12000,
                    "deposit_minor": 2000,
                },
                True,
            ),
        ]:
            service, created = Service.objects.get_or_create(organization=org, slug=slug, defaults=defaults)
            if created:
                service.locations.set([location])
                if with_staff:
                    service.staff.set(staff)
            services[slug] = service
        customers = [
            Customer.objects.get_or_create(
                organization=org, email=email, defaults={"first_name": first, "last_name": last, "phone": phone}
            )[0]
            for first, last, email, phone in [
                ("Jane", "Doe", "jane@example.com", "+1234567890"),
                ("John", "Smith", "john@example.com", "+15551234567"),
            ]
        ]
        # A new random password each run, printed with the summary: never a fixed, published one.
        password = secrets.token_urlsafe(12)
        admin = self._merchant_admin(org, password)
        keys = self._fresh_keys(org, customers[0])

        result = {
            "organization": {"slug": org.slug, "id": org.id, "uuid": str(org.uuid)},
            "location": {"id": location.id, "uuid": str(location.uuid)},
            "services": {slug: {"id": s.id, "uuid": str(s.uuid)} for slug, s in services.items()},
            "staff": [{"id": m.id, "uuid": str(m.uuid), "name": m.name} for m in staff],
            "customers": [{"id": c.id, "uuid": str(c.uuid), "email": c.email} for c in customers],
            "keys": keys,
            "admin": {"username": admin.username, "password": password},
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self._print_summary(result)

    def _merchant_admin(self, org, password: str):
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=ADMIN_USERNAME, defaults={"is_staff": True})
        user.set_password(password)
        user.is_staff = True
        user.save()
        # The demo merchant owns the organization: everything of it in the admin (the role is the
        # admin's permission; bookings/admin/tenancy.py).
        Membership.objects.update_or_create(user=user, organization=org, defaults={"role": Membership.Role.OWNER})
        return user

    def _fresh_keys(self, org, customer) -> dict[str, str]:
        """Revoke the demo keys issued before and issue new ones, so the printed keys always work."""
        ApiKey.objects.filter(organizations=org, name__startswith=DEMO_KEY_PREFIX, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        keys = {}
        for kind in ("business", "public", "session", "customer", "hub"):
            _, secret = api_key_create(
                kind=kind,
                organizations=[org],
                customer=customer if kind == "customer" else None,
                name=f"{DEMO_KEY_PREFIX}{kind}",
            )
            keys[kind] = secret
        return keys

    def _print_summary(self, result) -> None:
        write = self.stdout.write
        site = settings.SITE_URL  # `make run` sets it to the address it serves
        write(self.style.SUCCESS("Demo organization ready: Acme Salon (acme-salon)"))
        write(f"  Admin:    {site}/admin/  user {result['admin']['username']} / password {result['admin']['password']}")
        write(f"  Booking page: {site}/book/acme-salon/  (find a booking: {site}/manage-booking)")
        write(f"  API docs: {site}/api/docs/")
        write("  API keys (new ones each run; the previous demo keys are revoked):")
        for kind, secret in result["keys"].items():
            write(f"    {kind:<9} {secret}")
