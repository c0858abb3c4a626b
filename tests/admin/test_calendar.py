"""The staff calendar: local wall-clock placement (across DST changes), bookings, holds and free
slots as blocks linking where they should, navigation, and a fixed number of queries."""

import re
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.services.actors import SYSTEM
from bookings.services.bookings import booking_create
from bookings.services.status import booking_cancel
from organizations.models import Membership
from tests.admin.conftest import merchant
from tests.factories import (
    local_dt,
    make_booking,
    make_customer,
    make_hold,
    make_location,
    make_org,
    make_service,
    make_staff,
)

pytestmark = pytest.mark.django_db

NY = "America/New_York"
CALENDAR = "/admin/calendar/"
BLOCK = re.compile(
    r'<(?:a href="(?P<url>[^"]*)"|div) class="cal-block kind-(?P<kind>\w+) status-(?P<status>\w+)" '
    r'style="grid-column: (?P<column>\d+); grid-row: (?P<row>\d+) / (?P<end>\d+)" data-start="(?P<start>[\d:]+)"'
)
HOUR = re.compile(
    r'<div class="cal-hour" style="grid-column: 1; grid-row: (?P<row>\d+) / span 4">(?P<label>[\d:]+)</div>'
)
HEAD = re.compile(r'<div class="cal-head" style="grid-column: (?P<column>\d+); grid-row: 1">(?P<title>[^<]*)')


def blocks(html: str) -> list[dict]:
    return [m.groupdict() for m in BLOCK.finditer(html)]


def hour_rows(html: str) -> dict[str, int]:
    return {m["label"]: int(m["row"]) for m in HOUR.finditer(html)}


def heads(html: str) -> dict[int, str]:
    return {int(m["column"]): m["title"].strip() for m in HEAD.finditer(html)}


def next_dst_change(zone: str, after: date) -> date:
    """The first local date after `after` on which the zone's UTC offset changes."""
    tz = ZoneInfo(zone)
    day = after
    while True:
        noon_before = local_dt(zone, day, 12).utcoffset()
        day += timedelta(days=1)
        if local_dt(zone, day, 12).utcoffset() != noon_before:
            return day
        assert day < after + timedelta(days=400), tz


@pytest.fixture
def salon(client):
    org = make_org(timezone=NY)
    location = make_location(org, name="Main Street", hours=(time(9), time(17)))
    alex, sam = make_staff(org, name="Alex"), make_staff(org, name="Sam")
    haircut = make_service(org, name="Haircut", locations=[location], staff=[alex, sam])
    user = merchant("desk", org, role=Membership.Role.STAFF)
    client.force_login(user)
    return org, location, alex, sam, haircut


def test_a_10_00_booking_sits_at_10_00_before_and_after_a_dst_change(client, salon):
    org, location, alex, _sam, haircut = salon
    change = next_dst_change(NY, timezone.now().date() + timedelta(days=2))
    before, after = change - timedelta(days=1), change + timedelta(days=1)
    for day in (before, change, after):
        booking_create(
            service=haircut,
            location=location,
            starts_at=local_dt(NY, day, 10),
            customer=make_customer(org, first_name=f"Guest{day:%d}"),
            actor=SYSTEM,
            staff=alex,
        )
    assert local_dt(NY, before, 10).utcoffset() != local_dt(NY, after, 10).utcoffset()  # really across a change
    for day in (before, change, after):
        html = client.get(CALENDAR, {"date": str(day), "staff": alex.pk, "service": "none"}).content.decode()
        rows = hour_rows(html)
        [booking] = [b for b in blocks(html) if b["kind"] == "booking"]
        assert booking["start"] == "10:00" and int(booking["row"]) == rows["10:00"], day
        assert int(booking["end"]) == rows["11:00"]  # one hour: four rows of 15 minutes
    # In a week view: the days either side of the change side by side, each at 10:00.
    html = client.get(
        CALENDAR, {"date": str(before), "view": "week", "staff": alex.pk, "service": "none"}
    ).content.decode()
    rows = hour_rows(html)
    placed = [b for b in blocks(html) if b["kind"] == "booking"]
    assert placed and all(b["start"] == "10:00" and int(b["row"]) == rows["10:00"] for b in placed)
    columns = heads(html)
    titles = {columns[int(b["column"])] for b in placed}
    assert f"{before:%a %d %b}" in titles


def test_bookings_holds_and_free_slots_are_blocks(client, salon):
    org, location, alex, sam, haircut = salon
    day = date.today() + timedelta(days=9)
    jane = make_customer(org, first_name="Jane", last_name="Doe")
    booking = booking_create(
        service=haircut, location=location, starts_at=local_dt(NY, day, 10), customer=jane, actor=SYSTEM, staff=alex
    )
    cancelled = booking_create(
        service=haircut, location=location, starts_at=local_dt(NY, day, 12), customer=jane, actor=SYSTEM, staff=alex
    )
    booking_cancel(booking=cancelled, actor=SYSTEM, reason="x")
    make_hold(haircut, location, local_dt(NY, day, 14), staff=sam, expires_at=timezone.now() + timedelta(minutes=5))
    make_hold(haircut, location, local_dt(NY, day, 15), staff=sam, expires_at=timezone.now() - timedelta(minutes=1))
    html = client.get(CALENDAR, {"date": str(day), "location": location.pk}).content.decode()
    columns = heads(html)
    assert set(columns.values()) == {"Alex", "Sam"}
    found = blocks(html)
    [b] = [b for b in found if b["kind"] == "booking"]
    assert b["url"] == reverse("admin:bookings_booking_change", args=[booking.pk])
    assert b["status"] == "confirmed" and columns[int(b["column"])] == "Alex"
    assert "Haircut" in html and "Jane Doe" in html and "Confirmed" in html
    [hold] = [b for b in found if b["kind"] == "hold"]  # the expired hold blocks nothing: not shown
    assert hold["start"] == "14:00" and columns[int(hold["column"])] == "Sam"
    free = {(columns[int(b["column"])], b["start"]) for b in found if b["kind"] == "free"}
    assert ("Alex", "10:00") not in free and ("Sam", "14:00") not in free  # taken
    assert ("Alex", "12:00") in free and ("Sam", "15:00") in free  # cancelled, expired: free again
    link = next(b["url"] for b in found if b["kind"] == "free" and b["start"] == "12:00")
    assert (
        link.startswith(reverse("admin:bookings_booking_add")) and f"staff={alex.pk}" in link and "time=12%3A00" in link
    )
    assert client.get(link.replace("&amp;", "&")).status_code == 200


def test_navigation_by_date_location_and_staff(client, salon):
    org, location, alex, _sam, haircut = salon
    second = make_location(org, name="Harbour")
    day = date.today() + timedelta(days=9)
    html = client.get(CALENDAR, {"date": str(day)}).content.decode()
    assert f"?location={location.pk}&amp;date={day - timedelta(days=1)}" in html  # previous day
    assert f"?location={location.pk}&amp;date={day + timedelta(days=1)}" in html
    assert "Harbour" in html and "times in America/New_York" in html
    week = client.get(CALENDAR, {"date": str(day), "view": "week", "staff": alex.pk}).content.decode()
    assert len(heads(week)) == 7 and f"date={day + timedelta(days=7)}" in week
    other = client.get(CALENDAR, {"date": str(day), "location": second.pk}).content.decode()
    assert "Harbour" in other.split("<h2>")[1]
    index = client.get("/admin/").content.decode()
    assert 'href="/admin/calendar/"' in index and f'href="/book/{org.slug}/"' in index
    assert 'href="/admin/calendar/"' in client.get(reverse("admin:bookings_booking_changelist")).content.decode()


def test_calendar_queries_are_fixed_whatever_the_staff_or_days(client, salon, django_assert_max_num_queries):
    org, location, alex, sam, haircut = salon
    day = date.today() + timedelta(days=9)

    def count(params) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(CALENDAR, params).status_code == 200
        return len(queries)

    small = count({"date": str(day)})
    many = [make_staff(org, name=f"Extra {i}") for i in range(6)]
    haircut.staff.add(*many)
    for i, member in enumerate([alex, sam, *many]):
        make_booking(haircut, location, local_dt(NY, day, 9 + i % 8), staff=member, customer=make_customer(org))
        make_booking(haircut, location, local_dt(NY, day + timedelta(days=2), 9 + i % 8), staff=member)
    make_hold(haircut, location, local_dt(NY, day, 16), staff=sam, expires_at=timezone.now() + timedelta(minutes=5))
    assert count({"date": str(day)}) == small
    assert count({"date": str(day), "view": "week"}) == small
    assert count({"date": str(day), "view": "week", "staff": alex.pk}) == small
    with django_assert_max_num_queries(small):
        client.get(CALENDAR, {"date": str(day), "view": "week"})
    print(f"calendar: {small} queries (day or week, 2 or 8 staff)")


def test_staff_members_open_the_calendar_but_not_the_reports(client, salon):
    assert client.get(CALENDAR).status_code == 200
    assert client.get("/admin/reports/").status_code == 403


def test_a_merchant_without_locations_gets_a_page_not_an_error(client):
    client.force_login(merchant("lonely", make_org()))
    assert "There is no location yet" in client.get(CALENDAR).content.decode()
    assert client.get("/admin/reports/").status_code == 200
