"""Reports on a small schedule computed by hand, as figures, bars and CSV, in a fixed number of queries.

The week: the location opens Monday to Friday 09:00-17:00 (480 minutes a day) and is closed on
Friday by a date override. Alex has no hours of their own (the location's), and Wednesday
09:00-13:00 off: 4 x 480 - 240 = 1680 bookable minutes. Sam works Monday to Wednesday
10:00-14:00: 3 x 240 = 720. Alex's bookings: a completed one (deposit of 20.00 paid), a confirmed
one, a no-show, each 60 minutes, and a cancelled one: 180 booked minutes, utilisation 180/1680 =
10.7%, 3 bookings, 1 cancellation, 1 no-show, no-show rate 33.3%. Sam: one 90-minute booking,
90/720 = 12.5%.
"""

import csv
import io
from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from organizations.models import DateOverride, Membership, TimeOff
from tests.admin.conftest import merchant
from tests.factories import add_hours, local_dt, make_booking, make_location, make_org, make_service, make_staff

pytestmark = pytest.mark.django_db

NY = "America/New_York"
REPORTS = "/admin/reports/"


@pytest.fixture
def week(client):
    org = make_org(timezone=NY, currency="USD")
    location = make_location(org, name="Main Street", hours=(time(9), time(17)), days=range(5))
    alex = make_staff(org, name="Alex", hours=None)
    sam = make_staff(org, name="Sam", hours=None)
    add_hours(sam, days=range(3), start=time(10), end=time(14))
    haircut = make_service(org, locations=[location], staff=[alex, sam])
    colour = make_service(org, locations=[location], staff=[sam], duration_minutes=90)
    monday = date.today() + timedelta(days=14 - date.today().weekday())
    DateOverride.objects.create(organization=org, location=location, date=monday + timedelta(days=4))  # Friday closed
    TimeOff.objects.create(
        organization=org,
        staff=alex,
        starts_at=local_dt(NY, monday + timedelta(days=2), 9),
        ends_at=local_dt(NY, monday + timedelta(days=2), 13),
    )
    on = lambda day, hour: local_dt(NY, monday + timedelta(days=day), hour)  # noqa: E731
    make_booking(haircut, location, on(0, 9), staff=alex, status="completed", deposit_minor=2000, payment_status="paid")
    make_booking(haircut, location, on(0, 11), staff=alex, status="confirmed")
    make_booking(haircut, location, on(1, 9), staff=alex, status="no_show")
    make_booking(haircut, location, on(1, 11), staff=alex, status="cancelled")
    make_booking(colour, location, on(1, 10), staff=sam, status="confirmed")
    client.force_login(merchant("owner", org))
    return org, location, alex, sam, monday


def test_figures_of_a_hand_computed_week(client, week):
    _org, location, _alex, _sam, monday = week
    response = client.get(REPORTS, {"location": location.pk, "from": str(monday), "weeks": 2})
    html = response.content.decode()
    alex_part, sam_part = html.split("<h3>Alex</h3>")[1].split("<h3>Sam</h3>")
    first_week = alex_part.split("</tr>")[1]
    for figure in ("10.7%", "3h00 / 28h00", ">3<", "<td>1</td>", "33.3%", "20.00 USD"):
        assert figure in first_week, figure
    assert 'style="width: 10.7%"' in first_week  # the bar is drawn to the figure beside it
    assert "12.5%" in sam_part.split("</tr>")[1] and "1h30 / 12h00" in sam_part
    second_week = alex_part.split("</tr>")[2]
    assert "0.0%" in second_week and "0h00 / 40h00" in second_week  # a full week, nothing booked

    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    REPORTS, {"location": location.pk, "from": str(monday), "weeks": 2, "format": "csv"}
                ).content.decode()
            )
        )
    )
    alex_first = next(r for r in rows if r["staff"] == "Alex" and r["week_start"] == str(monday))
    assert alex_first == {
        "staff": "Alex",
        "week_start": str(monday),
        "bookable_minutes": "1680",
        "booked_minutes": "180",
        "utilisation": "0.1071",
        "bookings": "3",
        "cancellations": "1",
        "no_shows": "1",
        "no_show_rate": "0.3333",
        "deposits": "20.00",
        "currency": "USD",
        "time_zone": NY,
    }
    sam_first = next(r for r in rows if r["staff"] == "Sam" and r["week_start"] == str(monday))
    assert (sam_first["bookable_minutes"], sam_first["booked_minutes"], sam_first["utilisation"]) == (
        "720",
        "90",
        "0.1250",
    )
    assert len(rows) == 4  # two staff, two weeks


def test_report_queries_are_fixed_whatever_the_staff_or_weeks(client, week):
    org, location, alex, _sam, monday = week

    def count(**params) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(REPORTS, {"location": location.pk, "from": str(monday), **params}).status_code == 200
        return len(queries)

    small = count(weeks=1)
    service = make_service(org, locations=[location])
    for i in range(6):
        member = make_staff(org, name=f"Extra {i}")
        service.staff.add(member)
        for w in range(8):
            make_booking(service, location, local_dt(NY, monday + timedelta(days=7 * w), 9 + i), staff=member)
    assert count(weeks=8) == small
    assert count(weeks=26, format="csv") == small
    print(f"reports: {small} queries (1 week and 2 staff, or 8 weeks and 8 staff)")


def test_only_owners_open_the_reports(client, week):
    org = week[0]
    client.force_login(merchant("desk", org, role=Membership.Role.STAFF))
    assert client.get(REPORTS).status_code == 403


def test_bad_parameters_fall_back_to_defaults(client, week):
    assert client.get(REPORTS, {"weeks": "many", "from": "yesterday", "location": "x"}).status_code == 200
    assert client.get(REPORTS, {"weeks": "9999"}).status_code == 200
