"""Scheduling-core benchmark: availability and hold placement over a busy calendar.

Seeds 1 service, 20 staff working Mon-Sat 09:00-18:00, and 10,000 active bookings spread over
90 days, then prints median and p95 (ms) and the SQL query count of: availability for 1 staff
x 1 day, 20 staff x 7 days, 20 staff x 31 days; and placing 1,000 holds one after another.
Runs against a throw-away test database on whatever DATABASE_URL names (SQLite by default).

    python -m tests.bench.scheduling
"""

import os
import random
import statistics
import time as clock
from datetime import UTC, date, datetime, time, timedelta


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def seed(random_gen: random.Random, start_day: date):
    from django.db import connection

    from bookings.models import Booking
    from organizations.models import Location, Organization, Service, StaffMember, WorkingHours

    org = Organization.objects.create(slug="bench", name="Bench", timezone="America/New_York", min_notice_minutes=0)
    location = Location.objects.create(organization=org, name="Main")
    staff = StaffMember.objects.bulk_create(StaffMember(organization=org, name=f"Staff {i}") for i in range(20))
    service = Service.objects.create(
        organization=org, slug="cut", name="Cut", duration_minutes=60, slot_interval_minutes=30
    )
    service.locations.set([location])
    service.staff.set(staff)
    rules = [WorkingHours(organization=org, location=location, weekday=d, start_time=time(9), end_time=time(18))
             for d in range(6)]  # fmt: skip
    rules += [
        WorkingHours(organization=org, staff=member, weekday=d, start_time=time(9), end_time=time(18))
        for member in staff
        for d in range(6)
    ]
    WorkingHours.objects.bulk_create(rules)

    tz = location.tz
    staff_days = [
        (member, start_day + timedelta(days=d))
        for d in range(90)
        if (start_day + timedelta(days=d)).weekday() < 6
        for member in staff
    ]
    bookings: list[Booking] = []
    per_day, extra = divmod(10_000, len(staff_days))
    for index, (member, day) in enumerate(staff_days):
        count = per_day + (1 if index < extra else 0)
        for hour in sorted(random_gen.sample(range(9, 18), count)):
            starts_at = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
            ends_at = starts_at + timedelta(hours=1)
            bookings.append(
                Booking(
                    organization=org,
                    service=service,
                    location=location,
                    staff=member,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    blocked_start=starts_at,
                    blocked_end=ends_at,
                    timezone=tz.key,
                    confirmation_number=f"BENCH{len(bookings):08d}",
                )  # fmt: skip
            )
    Booking.objects.bulk_create(bookings, batch_size=1000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # planner statistics, as a live database has them
            cursor.execute("ANALYZE")
    return org, location, staff, service, len(bookings)


def measure(fn, repeat: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The queries are counted on a run of their own: counting makes Django log every statement (its
    # debug cursor), work a request does not do, which the timed runs leave out.
    with CaptureQueriesContext(connection) as ctx:
        fn()  # also the warm-up
    queries = len(ctx.captured_queries)
    timings = []
    for _ in range(repeat):
        started = clock.perf_counter()
        fn()
        timings.append((clock.perf_counter() - started) * 1000)
    return timings, queries


def report(label: str, timings: list[float], queries: int | None = None) -> None:
    line = f"  {label:<34} median {statistics.median(timings):8.2f} ms   p95 {percentile(timings, 0.95):8.2f} ms"
    if queries is not None:
        line += f"   queries {queries}"
    print(line, flush=True)


def run() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from bookings.availability import find_slots
    from bookings.services.holds import hold_place
    from organizations.models import Service

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        start_day = date.today() + timedelta(days=1)
        began = clock.perf_counter()
        org, location, staff, service, count = seed(random.Random(7), start_day)
        print(f"scheduling benchmark on {connection.vendor}: {count} bookings, 20 staff, 90 days "
              f"(seeded in {clock.perf_counter() - began:.1f} s)", flush=True)  # fmt: skip
        service = Service.objects.get(pk=service.pk)
        first = datetime.combine(start_day + timedelta(days=(0 - start_day.weekday()) % 7), time(0), tzinfo=UTC)
        now = datetime.combine(start_day, time(0), tzinfo=UTC) - timedelta(days=1)

        cases = [
            ("availability 1 staff x 1 day", dict(staff=staff[0]), 1, 200),
            ("availability 20 staff x 7 days", {}, 7, 50),
            ("availability 20 staff x 31 days", {}, 31, 20),
        ]
        for label, filters, days, repeat in cases:
            window = (first, first + timedelta(days=days))
            find_slots(service, *window, now=now, **filters)  # warm-up
            timings, queries = measure(lambda w=window, f=filters: find_slots(service, *w, now=now, **f), repeat)
            report(label, timings, queries)

        slots = find_slots(service, first, first + timedelta(days=31), now=now)
        targets = [(slot.starts_at, staff_id) for slot in slots for staff_id in slot.staff_ids]
        random.Random(11).shuffle(targets)
        by_id = {member.pk: member for member in staff}
        timings = []
        max_queries = 0
        from django.test.utils import CaptureQueriesContext

        placed = 0
        for starts_at, staff_id in targets:
            if placed == 1000:
                break
            with CaptureQueriesContext(connection) as ctx:
                started = clock.perf_counter()
                try:
                    hold_place(service=service, location=location, starts_at=starts_at, staff=by_id[staff_id], now=now)
                except Exception:  # an earlier hold took the neighbouring slot: not counted
                    continue
                timings.append((clock.perf_counter() - started) * 1000)
            max_queries = max(max_queries, len(ctx.captured_queries))
            connection.queries_log.clear()
            placed += 1
        report(f"place 1,000 holds (each of {placed})", timings, max_queries)
        print(f"  holds placed: {placed} in {sum(timings) / 1000:.2f} s total", flush=True)
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    run()
