"""psycopg keeps the conversion of a booking's statement with its riders (config/psycopg_statements.py)."""

from datetime import date, timedelta

import pytest
from django.db import connection

from bookings.models import Booking
from tests.api.public.test_public_api_queries import CREATE, create_body, setup
from tests.factories import local_dt

pytestmark = pytest.mark.django_db

NY = "America/New_York"


def test_a_booking_with_its_riders_is_converted_once_not_on_every_create(settings, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("psycopg is PostgreSQL's driver")
    from psycopg import _queries

    settings.BOOKING_RATE_LIMIT = "1000/m"
    org, _location, _staff, service, client = setup(1)
    day = date.today() + timedelta(days=3)
    converted_afresh = []
    convert = _queries._query2pg_nocache

    def counted(query: bytes, encoding: str):
        converted_afresh.append(query)
        return convert(query, encoding)

    monkeypatch.setattr(_queries, "_query2pg_nocache", counted)
    for hour in (10, 11):
        body = create_body(org, service, local_dt(NY, day, hour), contact={"name": "Jo", "email": f"jo{hour}@a.test"})
        assert client.post(CREATE, body, format="json").status_code == 201
    assert Booking.objects.count() == 2
    # psycopg converts a statement it may keep through its LRU (which wraps the function as it was
    # at import), one it may not through this name: the booking's ~70 parameters went the first way.
    riding = [q for q in converted_afresh if q.startswith(b"WITH") and b"INSERT INTO" in q]
    assert riding == [], f"the booking's statement was converted afresh {len(riding)} times"
