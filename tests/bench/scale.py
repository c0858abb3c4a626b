"""Growth benchmark: what a window of availability and one booking cost as the bookings table grows.

The table holds 10,000, then 100,000 (then, with BENCH_SCALE=large, 1,000,000) bookings spread over
1,000 organizations of 5-20 staff each (a year of their calendars), while the measured
organization keeps the same calendar: 200 staff, a service served by 20 of them and one by all
200, each staff member booked about 3 hours a day; a tenth of the rows added at each size are the
past of the 20-staff service's staff (going back from the window, up to a few years at 1,000,000),
which a window must not pay for either. A window's cost should not grow with the rest of
the table (ratio to the 10,000 cell <= 1.2) and grow at most linearly with staff x days.

For each table size it prints the seeding time, then per cell the median and p95 (ms), the query
count and the ratio of the median to the same cell at 10,000 bookings; at the largest size on
PostgreSQL, EXPLAIN (ANALYZE, BUFFERS) of the engine's one statement for 20 staff x 7 days.
Bookings are seeded in batches (bulk_create, BATCH rows at a time, generated as they are written):
nothing holds the table in memory. Runs on a throw-away test database of DATABASE_URL.

    BENCH_SCALE=large DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m tests.bench.scale
"""

import os
import random
import statistics
import time as clock
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

ORGANIZATIONS = 1_000
SIZES = [10_000, 100_000]
LARGE = 1_000_000
BATCH = 5_000
TZ = "America/New_York"
OPEN_DAYS = range(6)  # Monday to Saturday
HOURS = range(9, 18)  # one-hour bookings from 09:00, the last ending at 18:00
TARGET_STAFF = 200
TARGET_DAYS = 45
HISTORY_SHARE = 10  # one new booking in HISTORY_SHARE is the measured staff's own past


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _booking(org_id, service_id, location_id, staff_id, starts_at, number: int):
    from bookings.models import Booking

    ends_at = starts_at + timedelta(hours=1)
    public_id = f"book_s{number:011d}"
    return Booking(
        organization_id=org_id,
        service_id=service_id,
        location_id=location_id,
        staff_id=staff_id,
        starts_at=starts_at,
        ends_at=ends_at,
        blocked_start=starts_at,
        blocked_end=ends_at,
        timezone=TZ,
        uuid=uuid.UUID(int=number + 1),
        public_id=public_id,
        confirmation_number=public_id.upper(),
    )


class Catalog:
    """The 1,000 organizations (the measured one first) and who works where."""

    def __init__(self, rng: random.Random, first_day: date):
        from django.db import connection

        from organizations.models import Location, Organization, Service, StaffMember, WorkingHours

        self.first_day = first_day
        orgs = Organization.objects.bulk_create(
            Organization(slug=f"scale-{i:04d}", name=f"Scale {i}", timezone=TZ, min_notice_minutes=0)
            for i in range(ORGANIZATIONS)
        )
        locations = Location.objects.bulk_create(Location(organization=org, name="Main") for org in orgs)
        sizes = [TARGET_STAFF] + [rng.randint(5, 20) for _ in orgs[1:]]
        staff = StaffMember.objects.bulk_create(
            (
                StaffMember(organization=org, name=f"Staff {n}")
                for org, size in zip(orgs, sizes, strict=True)
                for n in range(size)
            ),
            batch_size=BATCH,
        )
        services = Service.objects.bulk_create(
            Service(organization=org, slug="cut", name="Cut", duration_minutes=60, slot_interval_minutes=30)
            for org in orgs
        )
        target = orgs[0]
        self.cut20, self.cut200 = (
            services[0],
            Service.objects.create(
                organization=target, slug="cut-all", name="Cut (anyone)", duration_minutes=60, slot_interval_minutes=30
            ),
        )
        by_org: dict[int, list] = {}
        for member in staff:
            by_org.setdefault(member.organization_id, []).append(member)
        self.target_staff = by_org[target.pk]
        self.location = locations[0]
        through_staff, through_locations = Service.staff.through, Service.locations.through
        links = [
            through_staff(service_id=service.pk, staffmember_id=member.pk)
            for service in services[1:]
            for member in by_org[service.organization_id]
        ]
        links += [through_staff(service_id=self.cut20.pk, staffmember_id=m.pk) for m in self.target_staff[:20]]
        links += [through_staff(service_id=self.cut200.pk, staffmember_id=m.pk) for m in self.target_staff]
        through_staff.objects.bulk_create(links, batch_size=BATCH)
        through_locations.objects.bulk_create(
            [through_locations(service_id=s.pk, location_id=loc.pk) for s, loc in zip(services, locations, strict=True)]
            + [through_locations(service_id=self.cut200.pk, location_id=self.location.pk)]
        )
        hours = [
            WorkingHours(organization=loc.organization, location=loc, weekday=d, start_time=time(9), end_time=time(18))
            for loc in locations
            for d in OPEN_DAYS
        ]
        hours += [
            WorkingHours(organization_id=m.organization_id, staff=m, weekday=d, start_time=time(9), end_time=time(18))
            for m in staff
            for d in OPEN_DAYS
        ]
        WorkingHours.objects.bulk_create(hours, batch_size=BATCH)
        # Everyone but the measured organization, for the background bookings: (org, service, location, staff).
        self.background = [
            (service.organization_id, service.pk, loc.pk, member.pk)
            for service, loc in zip(services[1:], locations[1:], strict=True)
            for member in by_org[service.organization_id]
        ]
        self.staff_count = len(staff)
        self.vendor = connection.vendor

    def target_bookings(self, rng: random.Random) -> Iterator:
        """The measured organization's calendar, the same at every table size: over TARGET_DAYS, the
        20 staff of the 20-staff service booked 3 hours every working day, the other 180 one hour
        every third working day."""
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(TZ)
        number = 0
        for offset in range(TARGET_DAYS):
            day = self.first_day + timedelta(days=offset)
            if day.weekday() not in OPEN_DAYS:
                continue
            for index, member in enumerate(self.target_staff):
                per_day = 3 if index < 20 else int((offset + index) % 3 == 0)
                for hour in rng.sample(HOURS, per_day):
                    starts_at = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
                    yield _booking(self.cut20.organization_id, self.cut20.pk, self.location.pk, member.pk, starts_at,
                                   10**9 + number)  # fmt: skip
                    number += 1

    def history_bookings(self, start: int, count: int) -> Iterator:
        """`count` more past bookings of the measured organization's 20-staff service, going back from
        two days before the window (the n-th: a staff member in turn, then the next hour, then the
        day before): a window must not pay for the years of bookings before it."""
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(TZ)
        staff = self.target_staff[:20]
        past = (self.first_day - timedelta(days=2 + d) for d in range(10_000))
        days = [d for d in past if d.weekday() in OPEN_DAYS]
        for number in range(start, start + count):
            member = staff[number % len(staff)]
            turn = number // len(staff)
            day, hour = days[turn // len(HOURS)], HOURS[turn % len(HOURS)]
            starts_at = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
            yield _booking(self.cut20.organization_id, self.cut20.pk, self.location.pk, member.pk, starts_at,
                           2 * 10**9 + number)  # fmt: skip

    def background_bookings(self, rng: random.Random, start: int, count: int) -> Iterator:
        """`count` more bookings of the other organizations' staff over a year around today, never two
        of one staff member at once (the cells are distinct (staff, day, hour) triples)."""
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(TZ)
        days = [self.first_day + timedelta(days=d) for d in range(-182, 183)]
        days = [d for d in days if d.weekday() in OPEN_DAYS]
        cells_per_staff = len(days) * len(HOURS)
        # The number-th booking takes a cell of a staff member in turn; cell indexes are a fixed
        # permutation of each staff member's cells, so growing the table never reuses a cell.
        stride = 7919  # a prime that is coprime with cells_per_staff (checked below)
        assert cells_per_staff % stride
        for number in range(start, start + count):
            org_id, service_id, location_id, staff_id = self.background[number % len(self.background)]
            turn = number // len(self.background)
            assert turn < cells_per_staff, "more bookings than a year of the staff's hours"
            cell = (turn * stride + staff_id) % cells_per_staff
            day, hour = days[cell // len(HOURS)], HOURS[cell % len(HOURS)]
            starts_at = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
            yield _booking(org_id, service_id, location_id, staff_id, starts_at, number)


def insert(rows: Iterator) -> int:
    """Write `rows` in batches of BATCH; returns how many."""
    from bookings.models import Booking

    total, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            Booking.objects.bulk_create(batch)
            total, batch = total + len(batch), []
    if batch:
        Booking.objects.bulk_create(batch)
        total += len(batch)
    return total


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


class _RolledBack(Exception):
    pass


def cells(catalog: Catalog, now: datetime) -> dict:
    """Each cell's callable and how often to run it."""
    from django.db import transaction

    from bookings.availability import find_slots
    from bookings.services.actors import SYSTEM
    from bookings.services.bookings import booking_create
    from organizations.models import Customer, Service

    monday = catalog.first_day + timedelta(days=(7 - catalog.first_day.weekday()) % 7)
    start = datetime.combine(monday, time(0), tzinfo=UTC)
    cut20 = Service.objects.get(pk=catalog.cut20.pk)
    cut200 = Service.objects.get(pk=catalog.cut200.pk)
    host = catalog.target_staff[0]
    customer, _ = Customer.objects.get_or_create(
        organization_id=cut20.organization_id, email="bench@example.com", defaults={"first_name": "Bench"}
    )
    free = [(s.starts_at, s.staff_ids[0]) for s in find_slots(cut20, start, start + timedelta(days=7), now=now)]
    staff_by_id = {m.pk: m for m in catalog.target_staff}
    turn = iter(range(10**9))

    def book_one() -> None:
        starts_at, staff_id = free[next(turn) % len(free)]
        try:
            with transaction.atomic():
                booking_create(
                    service=cut20,
                    location=catalog.location,
                    starts_at=starts_at,
                    customer=customer,
                    actor=SYSTEM,
                    staff=staff_by_id[staff_id],
                    now=now,
                )
                raise _RolledBack  # measure the booking, keep the calendar as it was
        except _RolledBack:
            pass

    return {
        "availability 1 staff x 1 day": (
            lambda: find_slots(cut20, start, start + timedelta(days=1), staff=host, now=now),
            200,
        ),  # fmt: skip
        "availability 20 staff x 7 days": (lambda: find_slots(cut20, start, start + timedelta(days=7), now=now), 40),
        "availability 20 staff x 31 days": (lambda: find_slots(cut20, start, start + timedelta(days=31), now=now), 15),
        "availability 200 staff x 7 days": (lambda: find_slots(cut200, start, start + timedelta(days=7), now=now), 15),
        "one booking created (20 staff)": (book_one, 100),
    }


def explain(catalog: Catalog, now: datetime) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the engine's statement for 20 staff x 7 days."""
    from django.db import connection

    from bookings.availability import find_slots
    from organizations.models import Service

    monday = catalog.first_day + timedelta(days=(7 - catalog.first_day.weekday()) % 7)
    start = datetime.combine(monday, time(0), tzinfo=UTC)
    cut20 = Service.objects.get(pk=catalog.cut20.pk)
    statements: list[tuple[str, Any]] = []

    def keep(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        find_slots(cut20, start, start + timedelta(days=7), now=now)
    sql, params = max(statements, key=lambda statement: len(statement[0]))  # the UNION ALL
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def run() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    sizes = SIZES + ([LARGE] if os.environ.get("BENCH_SCALE") == "large" else [])
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        rng = random.Random(17)
        first_day = date.today() + timedelta(days=1)
        now = datetime.combine(first_day, time(0), tzinfo=UTC) - timedelta(days=1)
        began = clock.perf_counter()
        catalog = Catalog(rng, first_day)
        target = insert(catalog.target_bookings(rng))
        print(
            f"growth benchmark on {connection.vendor}: {ORGANIZATIONS} organizations, {catalog.staff_count} staff; "
            f"the measured one: {TARGET_STAFF} staff, {target} bookings (seeded in {clock.perf_counter() - began:.1f} s)",
            flush=True,
        )
        baseline: dict[str, float] = {}
        seeded, history, background = target, 0, 0
        for size in sizes:
            began = clock.perf_counter()
            # A tenth of the new rows are the measured staff's own past, nine tenths other organizations'.
            more = (size - seeded) // HISTORY_SHARE
            history += insert(catalog.history_bookings(history, more))
            background += insert(catalog.background_bookings(rng, background, size - seeded - more))
            seeded = target + history + background
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")  # planner statistics, as a live database keeps them
            print(
                f"\n{seeded:,} bookings in the table, {history:,} of them the measured staff's past"
                f" (seeded in {clock.perf_counter() - began:.1f} s)",
                flush=True,
            )
            for label, (fn, repeat) in cells(catalog, now).items():
                timings, queries = measure(fn, repeat)
                median = statistics.median(timings)
                baseline.setdefault(label, median)
                print(
                    f"  {label:<34} median {median:8.2f} ms   p95 {percentile(timings, 0.95):8.2f} ms"
                    f"   queries {queries:2d}   x{median / baseline[label]:.2f} of the {sizes[0]:,} cell",
                    flush=True,
                )
        if connection.vendor == "postgresql":
            print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the engine's statement, 20 staff x 7 days, {seeded:,} bookings:")
            print(explain(catalog, now), flush=True)
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    run()
