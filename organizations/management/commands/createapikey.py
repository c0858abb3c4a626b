from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from organizations.keys import api_key_create
from organizations.models import ApiKey, Customer, Organization


class Command(BaseCommand):
    help = "Create an API key and print its secret (shown this once; only a hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("--org", action="append", required=True, help="Organization slug (repeat for hub keys).")
        parser.add_argument("--kind", required=True, choices=[kind.value for kind in ApiKey.Kind])
        parser.add_argument("--customer", help="Customer UUID, for customer keys.")
        parser.add_argument("--name", default="")

    def handle(self, *args, org, kind, customer, name, **options):
        organizations = list(Organization.objects.filter(slug__in=org))
        missing = set(org) - {o.slug for o in organizations}
        if missing:
            raise CommandError(f"Unknown organization: {', '.join(sorted(missing))}")
        if kind != ApiKey.Kind.HUB and len(organizations) != 1:
            raise CommandError("Only hub keys may span several organizations.")
        customer_obj = None
        if kind == ApiKey.Kind.CUSTOMER:
            if not customer:
                raise CommandError("--customer UUID is required for customer keys.")
            try:
                customer_obj = Customer.objects.get(uuid=customer, organization__in=organizations)
            except (Customer.DoesNotExist, ValidationError) as exc:
                raise CommandError(f"Unknown customer: {customer}") from exc
        _, secret = api_key_create(kind=kind, organizations=organizations, customer=customer_obj, name=name)
        self.stdout.write(secret)
