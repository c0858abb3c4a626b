"""Model validation: what the database and full_clean() refuse."""

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.models import Booking
from bookings.models.booking import PUBLIC_ID_ALPHABET, new_public_id
from organizations.models import DateOverride, Location, Organization, Service, WorkingHours
from tests.factories import make_location, make_org, make_service, make_staff

pytestmark = pytest.mark.django_db


def test_invalid_time_zone_is_refused():
    org = Organization(slug="x", name="X", timezone="Mars/Olympus_Mons")
    with pytest.raises(ValidationError) as exc:
        org.full_clean()
    assert "timezone" in exc.value.message_dict


def test_location_time_zone_is_validated_and_falls_back_to_organization():
    org = make_org(timezone="Europe/Berlin")
    location = Location(organization=org, name="Room", timezone="Not/AZone")
    with pytest.raises(ValidationError):
        location.full_clean()
    assert make_location(org).tz.key == "Europe/Berlin"


def test_service_capacity_min_above_max_is_refused_by_clean_and_database():
    org = make_org()
    service = Service(
        organization=org, slug="s", name="S", kind="group", duration_minutes=60, capacity_min=5, capacity_max=2
    )
    with pytest.raises(ValidationError) as exc:
        service.full_clean()
    assert "capacity_min" in exc.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        service.save()


def test_service_duration_must_be_positive():
    org = make_org()
    with pytest.raises(ValidationError) as exc:
        Service(organization=org, slug="s", name="S", duration_minutes=0).full_clean()
    assert "duration_minutes" in exc.value.message_dict


def test_service_slug_is_unique_per_organization_only():
    first, second = make_org(), make_org()
    make_service(first, slug="haircut")
    make_service(second, slug="haircut")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_service(first, slug="haircut")


def test_working_hours_must_end_after_start_and_have_one_owner():
    org = make_org()
    staff = make_staff(org, hours=None)
    with pytest.raises(ValidationError):
        WorkingHours(organization=org, staff=staff, weekday=0, start_time=time(17), end_time=time(9)).full_clean()
    with pytest.raises(ValidationError):
        WorkingHours(organization=org, weekday=0, start_time=time(9), end_time=time(17)).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingHours.objects.create(organization=org, staff=staff, weekday=0, start_time=time(17), end_time=time(9))


def test_date_override_is_closed_or_has_both_times():
    org = make_org()
    staff = make_staff(org, hours=None)
    DateOverride(organization=org, staff=staff, date=timezone.localdate()).full_clean()
    with pytest.raises(ValidationError):
        DateOverride(organization=org, staff=staff, date=timezone.localdate(), start_time=time(9)).full_clean()


def test_booking_must_end_after_start():
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location])
    start = timezone.now() + timedelta(days=1)
    booking = Booking(
        organization=org,
        service=service,
        location=location,
        starts_at=start,
        ends_at=start,
        blocked_start=start,
        blocked_end=start,
        timezone="UTC",
    )
    with pytest.raises(ValidationError):
        booking.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        booking.save()


def test_booking_confirmation_number_is_the_public_id_upper_cased():
    org = make_org()
    location = make_location(org)
    service = make_service(org, locations=[location])
    start = timezone.now() + timedelta(days=1)
    booking = Booking.objects.create(
        organization=org,
        service=service,
        location=location,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        blocked_start=start,
        blocked_end=start + timedelta(hours=1),
        timezone="UTC",
    )
    assert booking.public_id.startswith("book_")
    assert booking.confirmation_number == booking.public_id.upper()
    assert len(booking.public_id) - len("book_") >= 10  # >= 50 bits of base32


def test_public_ids_carry_at_least_50_random_bits():
    """Every character is one of 32 (5 bits), and they vary: 2,000 ids use the whole alphabet at
    every position and never repeat."""
    ids = [new_public_id().removeprefix("book_") for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert len(PUBLIC_ID_ALPHABET) == 32 and len(ids[0]) * 5 >= 50
    for position in range(len(ids[0])):
        assert {i[position] for i in ids} == set(PUBLIC_ID_ALPHABET)
