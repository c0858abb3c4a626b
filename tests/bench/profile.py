"""Where a request's CPU goes: `python -m tests.bench.profile` prints the top of a pyinstrument profile
of the public create (POST /public/bookings) and of uncached availability (GET /public/availability).

Each path is requested through Django's full handler (middleware, DRF, the services, the emails
rendered and sent to memory) against a throw-away test database of DATABASE_URL (SQLite by
default), with the availability cache off (the catalog cache on, as in production). A warm-up
first, then PROFILE_REQUESTS (300) of each; figures are the profiler's, not timings of record
(tests/bench/http_load.py measures CPU per request).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m tests.bench.profile
"""

import json
import os
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = "America/New_York"
STAFF = 4
LINES = int(os.environ.get("PROFILE_LINES", "45"))


def _world():
    from organizations.keys import api_key_create
    from organizations.models import Location, Organization, Service, StaffMember, WorkingHours

    org = Organization.objects.create(slug="profile", name="Profile", timezone=TZ, min_notice_minutes=0)
    location = Location.objects.create(organization=org, name="Main", value="1 Main Street")
    staff = [StaffMember.objects.create(organization=org, name=f"Staff {n}") for n in range(STAFF)]
    WorkingHours.objects.bulk_create(
        WorkingHours(organization=org, weekday=d, start_time=time(8), end_time=time(20), **owner)
        for owner in [{"location": location}, *({"staff": member} for member in staff)]
        for d in range(7)
    )
    service = Service.objects.create(organization=org, slug="cut", name="Cut", duration_minutes=30)
    service.locations.set([location])
    service.staff.set(staff)
    _, secret = api_key_create(kind="public", organizations=[org], name="profile")
    return secret, [str(member.uuid) for member in staff]


def _profile(label: str, requests) -> None:
    from pyinstrument import Profiler

    for send in requests[:20]:  # warm-up: code loaded, connections open
        send()
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for send in requests[20:]:
        send()
    profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    lines = [line for line in text.splitlines() if line.strip()]
    print(f"\n== {label}: {len(requests) - 20} requests ==")
    print("\n".join(lines[:LINES]), flush=True)


def run() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["AVAILABILITY_CACHE_SECONDS"] = "0"
    os.environ.setdefault("BOOKING_RATE_LIMIT", "100000/m")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the test client speaks plain http
    os.environ.setdefault("SECRET_KEY", "profile-only-secret-key-not-for-production-0123456789")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    setup_test_environment()  # emails to memory
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        secret, hosts = _world()
        client = Client(headers={"x-kordless-key": secret})
        count = int(os.environ.get("PROFILE_REQUESTS", "300")) + 20
        tz = ZoneInfo(TZ)
        first = datetime.now(tz).date() + timedelta(days=2)
        starts = [
            datetime.combine(first + timedelta(days=d), time(8), tzinfo=tz).astimezone(UTC) + timedelta(minutes=30 * n)
            for d in range(count // (24 * STAFF) + 2)
            for n in range(24)
        ]
        jobs = [(start, host) for start in starts for host in hosts][:count]

        def create(start: datetime, host: str, n: int):
            body = {
                "org_slug": "profile",
                "service_slug": "cut",
                "starts_at": start.isoformat().replace("+00:00", "Z"),
                "ends_at": (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
                "timezone": TZ,
                "host_id": host,
                "contact": {"name": f"Client {n}", "email": f"client{n}@example.com", "phone": "+15550000000"},
            }

            def send():
                response = client.post("/api/calendar/v1/public/bookings", json.dumps(body), "application/json")
                assert response.status_code == 201, response.content

            return send

        def availability(day):
            query = {"org_slug": "profile", "service_slug": "cut", "from": f"{day}T00:00:00Z", "to": f"{day}T23:59:59Z"}

            def send():
                response = client.get("/api/calendar/v1/public/availability", query)
                assert response.status_code == 200, response.content

            return send

        _profile("create (POST /public/bookings)", [create(s, h, n) for n, (s, h) in enumerate(jobs)])
        days = [first + timedelta(days=n % 30) for n in range(count)]
        _profile("availability, uncached (GET /public/availability, 1 day)", [availability(d) for d in days])
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    run()
