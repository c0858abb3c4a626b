"""The management commands a merchant or an operator runs."""

import json
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from organizations.keys import api_key_authenticate, hash_secret
from organizations.models import ApiKey, Customer, Location, Organization, Service, StaffMember, WorkingHours
from tests.factories import make_customer, make_org

pytestmark = pytest.mark.django_db


def seed_json() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def row_counts() -> dict:
    return {
        m.__name__: m.objects.count() for m in (Organization, Location, StaffMember, Service, Customer, WorkingHours)
    }


def test_seed_demo_json_describes_the_reference_organization():
    data = seed_json()
    assert data["organization"]["slug"] == "acme-salon"
    org = Organization.objects.get(slug="acme-salon")
    assert (org.name, org.timezone) == ("Acme Salon", "America/New_York")
    assert Location.objects.get(id=data["location"]["id"]).value == "123 Main St, Suite 100"
    assert set(data["services"]) == {"haircut", "yoga-class", "color-treatment"}
    yoga = Service.objects.get(id=data["services"]["yoga-class"]["id"])
    assert (yoga.kind, yoga.capacity_min, yoga.capacity_max, yoga.duration_minutes) == ("group", 2, 12, 60)
    haircut = Service.objects.get(slug="haircut")
    assert (haircut.duration_minutes, haircut.slot_interval_minutes) == (60, 30)
    assert Service.objects.get(slug="color-treatment").deposit_minor == 2000
    assert [s["name"] for s in data["staff"]] == ["Alex", "Sam"]
    assert set(data["keys"]) == {"business", "public", "session", "customer", "hub"}
    for kind, secret in data["keys"].items():
        assert api_key_authenticate(secret).kind == kind


def test_seed_demo_is_idempotent_and_reissues_working_keys():
    first = seed_json()
    counts = row_counts()
    second = seed_json()
    assert row_counts() == counts
    assert first["organization"] == second["organization"]
    assert first["keys"]["business"] != second["keys"]["business"]
    for secret in second["keys"].values():
        api_key_authenticate(secret)
    assert ApiKey.objects.get(secret_hash=hash_secret(first["keys"]["business"])).revoked_at is not None


def test_seed_demo_json_prints_nothing_but_json():
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    assert json.loads(out.getvalue().strip())


def test_createapikey_prints_a_secret_that_is_stored_only_hashed():
    org = make_org(slug="clinic")
    out = StringIO()
    call_command("createapikey", "--org", "clinic", "--kind", "business", stdout=out)
    secret = out.getvalue().strip()
    assert secret.startswith("cal_biz_")
    key = api_key_authenticate(secret)
    assert list(key.organizations.all()) == [org]
    assert key.secret_hash == hash_secret(secret)
    assert not ApiKey.objects.filter(secret_hash=secret).exists()
    assert secret not in {k.prefix for k in ApiKey.objects.all()}


def test_createapikey_customer_key_needs_a_customer():
    org = make_org(slug="clinic")
    with pytest.raises(CommandError):
        call_command("createapikey", "--org", "clinic", "--kind", "customer", stdout=StringIO())
    customer = make_customer(org)
    out = StringIO()
    call_command("createapikey", "--org", "clinic", "--kind", "customer", "--customer", str(customer.uuid), stdout=out)
    assert api_key_authenticate(out.getvalue().strip()).customer == customer


def test_createapikey_unknown_organization():
    with pytest.raises(CommandError, match="Unknown organization"):
        call_command("createapikey", "--org", "nope", "--kind", "public", stdout=StringIO())


def test_seed_demo_refuses_where_debug_is_off_unless_forced(settings):
    settings.DEMO_SEED_ALLOWED = False  # what DEBUG=false sets
    with pytest.raises(CommandError, match="runs with DEBUG=true only"):
        call_command("seed_demo", stdout=StringIO())
    assert not Organization.objects.exists()
    out = StringIO()
    call_command("seed_demo", "--json", "--force", stdout=out)
    assert json.loads(out.getvalue())["organization"]["slug"] == "acme-salon"


def test_seed_demo_gives_the_merchant_a_new_random_password_each_run(client):
    first, second = seed_json()["admin"], seed_json()["admin"]
    assert first["username"] == second["username"] == "merchant"
    assert first["password"] != second["password"] and len(second["password"]) >= 16
    assert "merchant-demo-pass" not in (first["password"], second["password"])
    assert not client.login(username="merchant", password=first["password"]), "the earlier one no longer works"
    assert client.login(username="merchant", password=second["password"])


def test_seed_demo_prints_where_to_log_in_and_the_password(settings):
    settings.SITE_URL = "http://127.0.0.1:8123"
    out = StringIO()
    call_command("seed_demo", stdout=out)
    user = get_user_model().objects.get(username="merchant")
    match = re.search(r"Admin: +http://127\.0\.0\.1:8123/admin/ +user merchant / password (\S+)", out.getvalue())
    assert match and user.check_password(match.group(1))
