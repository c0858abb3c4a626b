"""Times in the bookings list, pages, filters and date drill-down are the location's local times, with
the zone named; a time typed is local; search finds a booking by number, name, email or phone."""

import re
from datetime import UTC, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import local_dt, make_booking, make_customer, make_location, make_service, make_staff

pytestmark = pytest.mark.django_db

NY = "America/New_York"


def listing(client, query: str = "") -> str:
    return client.get(reverse("admin:bookings_booking_changelist") + query).content.decode()


def numbers(page: str) -> set[str]:
    return set(re.findall(r">([A-Z0-9_]{17})</a>", page))


def test_list_and_page_show_local_times_with_the_zone(client, bravo):
    client.force_login(bravo.owner)
    page = listing(client)
    assert f"{bravo.day:%a %d %b %Y} 10:00-11:00 America/New_York" in page  # 15:00 UTC, shown local
    london = make_location(bravo.organization, name="London branch", timezone="Europe/London")
    service = make_service(bravo.organization, locations=[london], staff=[bravo.alex])
    make_booking(service, london, local_dt("Europe/London", bravo.day, 9), staff=bravo.alex)
    assert f"{bravo.day:%a %d %b %Y} 09:00-10:00 Europe/London" in listing(client)
    detail = client.get(reverse("admin:bookings_booking_change", args=[bravo.booking.pk])).content.decode()
    assert f"{bravo.day:%a %d %b %Y} 10:00 America/New_York" in detail


def test_a_typed_time_is_the_locations_local_time(client, bravo):
    client.force_login(bravo.owner)
    london = make_location(
        bravo.organization, name="London branch", timezone="Europe/London", hours=(time(8), time(18))
    )
    service = make_service(bravo.organization, locations=[london], staff=[bravo.alex])
    response = client.post(
        reverse("admin:bookings_booking_add"),
        {
            "service": service.pk,
            "date": str(bravo.day),
            "time": "09:00",
            "customer": bravo.customer.pk,
            "party_size": "1",
            "_book": "Book",
        },
    )
    assert response.status_code == 302
    booking = service.bookings.get()
    assert booking.starts_at == local_dt("Europe/London", bravo.day, 9)  # 09:00 London, not 09:00 New York


def test_today_this_week_and_the_date_drill_down_are_local_days(client, bravo):
    client.force_login(bravo.owner)
    zone = bravo.location.tz
    today = timezone.now().astimezone(zone).date()
    late = make_booking(bravo.haircut, bravo.location, local_dt(NY, today, 23, 30), staff=bravo.sam)
    early_tomorrow = make_booking(
        bravo.haircut, bravo.location, local_dt(NY, today + timedelta(days=1), 0, 30), staff=bravo.alex
    )
    # 23:30 New York is the next day in UTC; it is still today here.
    assert late.starts_at.astimezone(UTC).date() == today + timedelta(days=1)
    today_list = numbers(listing(client, "?when=today"))
    assert late.confirmation_number in today_list and early_tomorrow.confirmation_number not in today_list
    day_list = numbers(listing(client, f"?date={today:%Y-%m-%d}"))
    assert day_list == {late.confirmation_number}
    next_day = numbers(listing(client, f"?date={today + timedelta(days=1):%Y-%m-%d}"))
    assert early_tomorrow.confirmation_number in next_day and late.confirmation_number not in next_day
    week = numbers(listing(client, "?when=week"))
    monday = today - timedelta(days=today.weekday())
    in_week = {
        b.confirmation_number
        for b in (late, early_tomorrow, bravo.booking)
        if b.starts_at < local_dt(NY, monday + timedelta(days=7), 0)
    }
    assert in_week <= week
    upcoming, past = numbers(listing(client, "?when=upcoming")), numbers(listing(client, "?when=past"))
    assert bravo.booking.confirmation_number in upcoming and bravo.booking.confirmation_number not in past
    # The drill-down offers local years, then months, then days.
    page = listing(client, f"?date={today:%Y-%m}")
    assert f"?date={today:%Y-%m-%d}" in page and f"{today:%a %d %b %Y}" in page


def test_filters_by_staff_service_location_and_status_and_search(client, bravo):
    client.force_login(bravo.owner)
    make_location(bravo.organization, name="Second branch")  # a filter with one choice is not shown
    page = listing(client)
    for name in (bravo.alex.name, bravo.haircut.name, bravo.location.name, "Second branch"):
        assert name in page  # offered as filters
    other_staff = make_staff(bravo.organization, name="Robin")
    other = make_booking(
        bravo.haircut,
        bravo.location,
        bravo.at(16),
        staff=other_staff,
        customer=make_customer(bravo.organization, first_name="Mia", last_name="Moss", phone="+15559999"),
        contact_name="Mia Moss",
        contact_email="mia@example.com",
        contact_phone="+15559999",
    )
    assert numbers(listing(client, f"?staff__id__exact={other_staff.pk}")) == {other.confirmation_number}
    assert other.confirmation_number in numbers(listing(client, f"?service__id__exact={bravo.haircut.pk}"))
    assert bravo.session.confirmation_number not in numbers(listing(client, f"?service__id__exact={bravo.haircut.pk}"))
    assert other.confirmation_number in numbers(listing(client, f"?location__id__exact={bravo.location.pk}"))
    assert numbers(listing(client, "?status__exact=confirmed")) >= {other.confirmation_number}
    for term in (other.confirmation_number.lower(), "Mia Moss", "mia@example.com", "+15559999"):
        assert numbers(listing(client, f"?q={term}")) == {other.confirmation_number}, term
