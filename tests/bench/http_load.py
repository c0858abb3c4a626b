"""HTTP load benchmark of the public booking API: gunicorn + PostgreSQL on 127.0.0.1.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python -m tests.bench.http_load

Bounded by design: a fixed number of requests per phase, a fixed number of client threads and a
time cap per phase. The workers share the local Redis as their cache (as production's REDIS_URL)
when it answers. Phases:

0. availability with the answer, catalog and API key caches off, for comparison;
1. availability: GET /public/availability for one day, over 60 days;
2. create (distinct slots): POST /public/bookings, every request a different host and time, each
   client sending again as soon as it is answered (the capacity, and the latency at capacity);
3. create with Idempotency-Key: the same, each request with a key of its own, as the contract's
   example sends it (the key is claimed, and the answer stored with the booking);
4. create at a fixed rate (100/s): the same kind of requests, sent on a schedule; latency counts
   from when each request was due, so time spent waiting for a free client is included;
5. create (race): every request for one of a few slots, so most get 409;
6. before 1-5, on a server of its own: availability of 1,000 small organizations (tenants), each
   asked once first (the warm-up), then at random while one of them at a time renames a staff member
   20 times a second (a catalog write); the share of catalog lookups answered from the cache is
   printed (the workers count them after the warm-up and print them on exit).

It also prints each gunicorn worker's resident memory before phase 1 and after phase 5.

It prints requests/s, p50/p95/p99 latency and the status counts of each phase, then checks the
database: the number of double bookings (overlapping active bookings of one staff member) and
of 5xx answers must both be 0. Never run by pytest (the file name does not start with `test_`).

Environment: BENCH_DATABASE_URL (else DATABASE_URL; must be PostgreSQL), BENCH_CLIENTS (32),
BENCH_AVAILABILITY_REQUESTS (1500), BENCH_CREATE_REQUESTS (1000), BENCH_IDEMPOTENT_REQUESTS (1000),
BENCH_PACED_REQUESTS (1000),
BENCH_CREATE_RATE (100 per second), BENCH_RACE_REQUESTS (600),
BENCH_RACE_SLOTS (5), BENCH_WORKERS (gunicorn workers, 4), BENCH_TIME_CAP (60 s per phase),
BENCH_RATE_LIMIT (the server's BOOKING_RATE_LIMIT, "100000/m"), BENCH_REDIS_URL
(redis://127.0.0.1:6379/0), BENCH_EMAIL_BACKEND (tests.bench.email_backend.EmailBackend),
BENCH_TENANTS (1000), BENCH_TENANT_REQUESTS (4000), BENCH_TENANT_WRITE_RATE (20 per second).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BASE_DIR = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"  # never anything else
ORG_SLUG = "bench-salon"
SERVICE_SLUG = "bench-cut"
TZ = "America/New_York"
STAFF_COUNT = 4
OPENS, CLOSES = dtime(8), dtime(20)
DURATION_MINUTES = 30


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass
class PhaseResult:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    client_cpu: float = 0.0  # CPU seconds this load generator itself used (it shares the 2 cores)
    server_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of each server process group
    skipped: int = 0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] * 1000

    def report(self) -> str:
        done = len(self.latencies)
        rate = done / self.elapsed if self.elapsed else 0.0
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        fivexx = sum(n for code, n in self.statuses.items() if code >= 500 or code == 0)
        return (
            f"{self.name:<26} {done:>5} req in {self.elapsed:6.2f} s = {rate:7.1f} req/s | "
            f"p50 {self.percentile(50):6.1f} ms  p95 {self.percentile(95):6.1f} ms  p99 {self.percentile(99):6.1f} ms | "
            f"status {{{statuses}}} | 5xx/errors {fivexx} | client CPU {self.client_cpu:.1f} s"
            + (f" | not sent (time cap) {self.skipped}" if self.skipped else "")
            + self.cpu_per_request()
        )

    def cpu_per_request(self) -> str:
        """Server CPU per answered request: steadier across a noisy machine than requests/s."""
        done = len(self.latencies)
        if not done or not self.server_cpu:
            return ""
        parts = ", ".join(f"{name} {seconds / done * 1000:.1f}" for name, seconds in self.server_cpu.items())
        return f"\n{'':<28}server CPU ms per request: {parts}"


def _process_cpu() -> list[tuple[int, int, str, float]]:
    """(pid, parent pid, command, CPU seconds) of every process this user can read in /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue  # gone meanwhile
        command = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        found.append((int(entry), int(fields[1]), command, (int(fields[11]) + int(fields[12])) / tick))
    return found


def server_cpu(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of gunicorn (master and workers), every PostgreSQL process, and Redis.

    The kernel's own work for them (writeback of the WAL, the network) is not in these figures;
    "machine" is every process's and the kernel's (this load client included).
    """
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq = (int(n) for n in stat.readline().split()[1:8])
    machine = (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
    totals = {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0, "machine": machine}
    for pid, parent, command, seconds in _process_cpu():
        if pid == server_pid or parent == server_pid:
            totals["gunicorn"] += seconds
        elif command == "postgres":
            totals["postgres"] += seconds
        elif command.startswith("redis-server"):
            totals["redis"] += seconds
    return totals


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def worker_rss(server_pid: int) -> dict[int, float]:
    """Resident memory (MB) of each gunicorn worker (the server's children), by pid."""
    found = {}
    for pid, parent, _command, _cpu in _process_cpu():
        if parent != server_pid:
            continue
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        found[pid] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return found


def rss_report(label: str, rss: dict[int, float]) -> str:
    return f"{label}: " + ", ".join(f"{mb:.0f}" for _pid, mb in sorted(rss.items())) + " MB"


# Gunicorn hooks (a config file, written per run): each worker counts the catalog's service lookups
# answered from the cache (hits) and computed (misses) once the warm-up is over, and prints them
# when it exits. They wrap the
# version lookup the catalog module uses, whichever it is, so the same count reads any revision.
GUNICORN_HOOKS = """
import os
import sys

MARKER = os.environ["BENCH_COUNT_MARKER"]  # lookups count once this file exists (after the warm-up)

def post_worker_init(worker):
    from bookings.caching import catalog
    counts = worker.catalog_counts = {"hits": 0, "misses": 0}
    for name in ("versioned_get_many", "versioned_get"):
        original = getattr(catalog, name, None)
        if original is None:
            continue
        def counted(version, entry_key, _original=original):
            found = _original(version, entry_key)
            if entry_key.startswith("catalog:service:") and os.path.exists(MARKER):
                counts["misses" if found[1] is None else "hits"] += 1
            return found
        setattr(catalog, name, counted)

def worker_exit(server, worker):
    counts = getattr(worker, "catalog_counts", None)
    if counts is not None:
        print(f"catalog-service-lookups hits={counts['hits']} misses={counts['misses']}", file=sys.stderr, flush=True)
"""


def catalog_counts(log_text: str) -> tuple[int, int]:
    """Service lookups answered from the catalog cache and computed, summed over the workers' exit lines."""
    hits = misses = 0
    for line in log_text.splitlines():
        if line.startswith("catalog-service-lookups "):
            fields = dict(part.split("=") for part in line.split()[1:])
            hits, misses = hits + int(fields["hits"]), misses + int(fields["misses"])
    return hits, misses


TENANT_PREFIX = "bench-t-"


def setup_tenants(count: int) -> dict:
    """`count` small organizations (one location, one staff member, one service each) and one public
    key for all of them: the many tenants whose catalogs the writing phase changes."""
    from django.db import transaction

    from organizations.keys import api_key_create
    from organizations.models import Location, Organization, Service, StaffMember, WorkingHours

    with transaction.atomic():
        Organization.objects.filter(slug__startswith=TENANT_PREFIX).delete()  # a previous run's
        orgs = Organization.objects.bulk_create(
            Organization(slug=f"{TENANT_PREFIX}{n:04d}", name=f"Tenant {n}", timezone=TZ, min_notice_minutes=0)
            for n in range(count)
        )
        locations = Location.objects.bulk_create(Location(organization=org, name="Main") for org in orgs)
        staff = StaffMember.objects.bulk_create(StaffMember(organization=org, name="Staff") for org in orgs)
        services = Service.objects.bulk_create(
            Service(organization=org, slug="cut", name="Cut", duration_minutes=DURATION_MINUTES) for org in orgs
        )
        Service.locations.through.objects.bulk_create(
            Service.locations.through(service_id=sv.pk, location_id=loc.pk)
            for sv, loc in zip(services, locations, strict=True)
        )
        Service.staff.through.objects.bulk_create(
            Service.staff.through(service_id=sv.pk, staffmember_id=m.pk) for sv, m in zip(services, staff, strict=True)
        )
        WorkingHours.objects.bulk_create(
            [
                WorkingHours(organization=org, weekday=d, start_time=OPENS, end_time=CLOSES, **owner)
                for org, loc, member in zip(orgs, locations, staff, strict=True)
                for owner in ({"location": loc}, {"staff": member})
                for d in range(7)
            ],
            batch_size=5000,
        )
        _, secret = api_key_create(kind="public", organizations=orgs, name="bench tenants")
    return {"secret": secret, "slugs": [org.slug for org in orgs], "staff_ids": [m.pk for m in staff]}


def catalog_writer(staff_ids: list[int], rate: float, stop: threading.Event, written: list[int]) -> None:
    """Rename a random tenant's staff member `rate` times a second (a catalog write of one
    organization, as its owner editing the team would), until `stop`."""
    from django.db import connection

    from organizations.models import StaffMember

    rng = random.Random(3)
    try:
        while not stop.wait(1 / rate):
            StaffMember.objects.filter(pk=rng.choice(staff_ids)).update(name=f"Staff {rng.randrange(10**6)}")
            written[0] += 1
    finally:
        connection.close()


def request(port: int, method: str, path: str, headers: dict, body: bytes | None = None) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0  # connection error: counted with the 5xx
    finally:
        conn.close()


def run_phase(
    name: str,
    port: int,
    jobs: list,
    clients: int,
    time_cap: float,
    rate: float | None = None,
    server_pid: int | None = None,
) -> PhaseResult:
    """Run `jobs` ((method, path, headers, body) tuples) over `clients` threads, stopping at `time_cap`.

    Without `rate`, each client sends its next request as soon as the last one is answered (a closed
    loop: the throughput found is the server's capacity, and latency is clients / throughput).
    With `rate`, request i is due at i / rate seconds and its latency counts from then, not from
    when a client was free to send it: waiting for a free client is part of what a user would see
    (no coordinated omission). With `server_pid`, the server side's CPU is measured too.
    """
    result = PhaseResult(name)
    lock = threading.Lock()
    queue = list(reversed(list(enumerate(jobs))))
    deadline = time.monotonic() + time_cap
    first = time.perf_counter()

    def client():
        while True:
            with lock:
                if not queue:
                    return
                if time.monotonic() > deadline:
                    result.skipped = len(queue)
                    queue.clear()
                    return
                index, job = queue.pop()
            started = time.perf_counter()
            if rate:
                due = first + index / rate
                if due > started:
                    time.sleep(due - started)
                started = due
            status = request(port, *job)
            took = time.perf_counter() - started
            with lock:
                result.latencies.append(took)
                result.statuses[status] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    server_before = server_cpu(server_pid) if server_pid else {}
    cpu_before = time.process_time()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - started
    result.client_cpu = time.process_time() - cpu_before
    if server_pid:
        after = server_cpu(server_pid)
        result.server_cpu = {name: after[name] - before for name, before in server_before.items()}
    return result


def setup_database(database_url: str) -> dict:
    """Migrate, seed the demo, and (re)build the bench organization; returns its key and slots."""
    env = {**os.environ, "DATABASE_URL": database_url}
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True, cwd=BASE_DIR)
    subprocess.run([*manage, "seed_demo", "--json"], env=env, check=True, cwd=BASE_DIR, stdout=subprocess.DEVNULL)

    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import transaction

    from bookings.models import Booking
    from holds.models import Hold
    from organizations.keys import api_key_create
    from organizations.models import Customer, Location, Organization, Service, StaffMember, WorkingHours

    with transaction.atomic():
        old = Organization.objects.filter(slug=ORG_SLUG).first()
        if old is not None:  # a previous run: start from empty calendars
            Booking.objects.filter(organization=old).delete()
            Hold.objects.filter(organization=old).delete()
            Customer.objects.filter(organization=old).delete()
            Service.objects.filter(organization=old).delete()
            old.delete()
        org = Organization.objects.create(
            slug=ORG_SLUG, name="Bench Salon", timezone=TZ, min_notice_minutes=0, max_advance_days=365
        )
        location = Location.objects.create(organization=org, name="Bench", value="1 Bench Street")
        staff = [StaffMember.objects.create(organization=org, name=f"Bench {n}") for n in range(STAFF_COUNT)]
        rules: list[dict[str, Any]] = [{"location": location}, *[{"staff": member} for member in staff]]
        WorkingHours.objects.bulk_create(
            WorkingHours(organization=org, weekday=d, start_time=OPENS, end_time=CLOSES, **owner)
            for owner in rules
            for d in range(7)
        )
        service = Service.objects.create(
            organization=org, slug=SERVICE_SLUG, name="Bench Cut", duration_minutes=DURATION_MINUTES
        )
        service.locations.set([location])
        service.staff.set(staff)
        _, secret = api_key_create(kind="public", organizations=[org], name="bench")
    return {"secret": secret, "org_id": org.pk, "staff_uuids": [str(m.uuid) for m in staff]}


def local_starts(first_day: date, days: int) -> list[datetime]:
    tz = ZoneInfo(TZ)
    starts = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        moment = datetime.combine(day, OPENS, tzinfo=tz)
        end = datetime.combine(day, CLOSES, tzinfo=tz)
        while moment + timedelta(minutes=DURATION_MINUTES) <= end:
            starts.append(moment.astimezone(UTC))
            moment += timedelta(minutes=DURATION_MINUTES)
    return starts


def create_body(start: datetime, n: int, host_id: str | None) -> bytes:
    body = {
        "org_slug": ORG_SLUG,
        "service_slug": SERVICE_SLUG,
        "starts_at": start.isoformat().replace("+00:00", "Z"),
        "ends_at": (start + timedelta(minutes=DURATION_MINUTES)).isoformat().replace("+00:00", "Z"),
        "timezone": TZ,
        "contact": {"name": f"Bench Client {n}", "email": f"bench{n}@example.com", "phone": "+15550000000"},
    }
    if host_id:
        body["host_id"] = host_id
    return json.dumps(body).encode()


def double_bookings(org_id: int) -> int:
    """Pairs of overlapping active bookings of one staff member (buffers included). Must be 0."""
    from bookings.models import ACTIVE_STATUSES, Booking

    found = 0
    last_end: dict[int, datetime] = {}
    rows = (
        Booking.objects.filter(organization_id=org_id, status__in=ACTIVE_STATUSES, staff__isnull=False)
        .order_by("staff_id", "blocked_start")
        .values_list("staff_id", "blocked_start", "blocked_end")
    )
    for staff_id, start, end in rows:
        if staff_id in last_end and start < last_end[staff_id]:
            found += 1
        last_end[staff_id] = max(end, last_end.get(staff_id, end))
    return found


def redis_url() -> str:
    """The local Redis the workers share (as production's REDIS_URL), or "" when none answers."""
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return url
    except Exception:  # noqa: BLE001 - unreachable for whatever reason: run without, and say so
        return ""


# The server's settings for the phases with the caches off: the answers, the catalog, the key rows.
CACHES_OFF = {"AVAILABILITY_CACHE_SECONDS": "0", "CATALOG_CACHE_SECONDS": "0", "API_KEY_CACHE_SECONDS": "0"}


def start_server(
    database_url: str,
    port: int,
    workers: int,
    log,
    config: str | None = None,
    checkout: Path | str = BASE_DIR,
    **extra_env: str,
) -> subprocess.Popen:
    """gunicorn on 127.0.0.1 only, serving `checkout`'s code; its log (Django logs every 4xx as a
    warning) goes to `log`."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "ALLOWED_HOSTS": HOST,
        # Plain http on loopback, as behind a proxy that terminates TLS: no redirect to https.
        "SECURE_SSL_REDIRECT": "false",
        "BOOKING_RATE_LIMIT": os.environ.get("BENCH_RATE_LIMIT", "100000/m"),
        "DB_CONN_MAX_AGE": "60",
        # SMTP's work without a server; BENCH_EMAIL_BACKEND replaces it (the dummy backend, say, to
        # see what the confirmation emails cost).
        "EMAIL_BACKEND": os.environ.get("BENCH_EMAIL_BACKEND") or "tests.bench.email_backend.EmailBackend",
        "LOG_LEVEL": "ERROR",
        **extra_env,
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(workers),
            "--backlog",
            "256",
            "--log-level",
            "warning",
            *(["--config", config] if config else []),
        ],
        cwd=checkout,
        env=env,
        stderr=log,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        if request(port, "GET", "/api/calendar/v1/public/availability", {}) != 0:
            return server
        time.sleep(0.2)
    server.send_signal(signal.SIGTERM)
    raise RuntimeError("gunicorn did not answer within 30 s")


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def main() -> int:
    database_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("http_load: skipped (set BENCH_DATABASE_URL to a PostgreSQL database it may fill)")
        return 0
    clients = env_int("BENCH_CLIENTS", 32)
    time_cap = float(os.environ.get("BENCH_TIME_CAP") or 60)
    n_availability = env_int("BENCH_AVAILABILITY_REQUESTS", 1500)
    n_create = env_int("BENCH_CREATE_REQUESTS", 1000)
    n_race = env_int("BENCH_RACE_REQUESTS", 600)
    n_paced = env_int("BENCH_PACED_REQUESTS", 1000)
    n_idempotent = env_int("BENCH_IDEMPOTENT_REQUESTS", 1000)
    create_rate = float(os.environ.get("BENCH_CREATE_RATE") or 100)
    race_slots = env_int("BENCH_RACE_SLOTS", 5)
    workers = env_int("BENCH_WORKERS", 4)

    n_tenants = env_int("BENCH_TENANTS", 1000)
    n_tenant_requests = env_int("BENCH_TENANT_REQUESTS", 4000)
    tenant_write_rate = float(os.environ.get("BENCH_TENANT_WRITE_RATE") or 20)
    redis = redis_url()
    # A fresh key prefix per run: nothing cached by an earlier run is read back. This process shares
    # it (and the cache) too: its own catalog writes (the writing phase) reach the workers' cache.
    shared = {"REDIS_URL": redis, "CACHE_KEY_PREFIX": f"http-load-{os.getpid()}-{time.time_ns()}"} if redis else {}
    os.environ.update(shared)

    print(f"http_load: setting up {database_url.rsplit('@', 1)[-1]} ...", flush=True)
    bench = setup_database(database_url)
    began = time.perf_counter()
    tenants = setup_tenants(n_tenants)
    print(f"http_load: {n_tenants} tenant organizations seeded in {time.perf_counter() - began:.1f} s", flush=True)
    headers = {"x-kordless-key": bench["secret"], "Content-Type": "application/json"}
    rng = random.Random(1)
    first_day = datetime.now(ZoneInfo(TZ)).date() + timedelta(days=2)
    per_day = len(local_starts(first_day, 1)) * STAFF_COUNT
    days = (n_create + n_idempotent + n_paced) // per_day + 2
    starts = local_starts(first_day, days)

    availability_jobs = []
    for _ in range(n_availability):
        day = first_day + timedelta(days=rng.randrange(60))
        query = f"org_slug={ORG_SLUG}&service_slug={SERVICE_SLUG}&from={day}T00:00:00Z&to={day}T23:59:59Z"
        availability_jobs.append(("GET", f"/api/calendar/v1/public/availability?{query}", headers, None))

    log = tempfile.NamedTemporaryFile("w+", prefix="http_load-gunicorn-", suffix=".log", delete=False)
    results = []
    # The same availability requests with the answer, catalog and API key caches off, for comparison.
    port = free_port()
    server = start_server(database_url, port, workers, log, **CACHES_OFF, **shared)
    try:
        run_phase("warm-up", port, availability_jobs[: workers * 8], workers * 2, time_cap)
        results.append(
            run_phase("availability, caches off", port, availability_jobs, clients, time_cap, server_pid=server.pid)
        )
    finally:
        stop_server(server)

    # Many tenants, their catalogs changing: availability of random tenants while one of them (a
    # random one each time) renames a staff member BENCH_TENANT_WRITE_RATE times a second. The
    # workers count their catalog service lookups (hits, misses) and print them on exit.
    hooks = tempfile.NamedTemporaryFile("w", prefix="http_load-hooks-", suffix=".py", delete=False)
    hooks.write(GUNICORN_HOOKS)
    hooks.close()
    tenant_log = tempfile.NamedTemporaryFile("w+", prefix="http_load-tenants-", suffix=".log", delete=False)
    tenant_headers = {"x-kordless-key": tenants["secret"], "Content-Type": "application/json"}
    tenant_jobs = []
    for _ in range(n_tenant_requests):
        slug, day = rng.choice(tenants["slugs"]), first_day + timedelta(days=rng.randrange(30))
        query = f"org_slug={slug}&service_slug=cut&from={day}T00:00:00Z&to={day}T23:59:59Z"
        tenant_jobs.append(("GET", f"/api/calendar/v1/public/availability?{query}", tenant_headers, None))
    marker = Path(hooks.name + ".counting")
    warm_up = [
        ("GET", f"/api/calendar/v1/public/availability?org_slug={slug}&service_slug=cut&from={first_day}T00:00:00Z"
         f"&to={first_day}T23:59:59Z", tenant_headers, None)
        for slug in tenants["slugs"]
    ]  # fmt: skip
    port = free_port()
    server = start_server(
        database_url, port, workers, tenant_log, config=hooks.name, BENCH_COUNT_MARKER=str(marker), **shared
    )
    stop, written = threading.Event(), [0]
    try:
        run_phase("warm-up", port, warm_up, clients, time_cap)  # every tenant once: the catalog warm
        marker.touch()
        writer = threading.Thread(target=catalog_writer, args=(tenants["staff_ids"], tenant_write_rate, stop, written))
        writer.start()
        tenant_phase = run_phase(
            f"{n_tenants} tenants, writing", port, tenant_jobs, clients, time_cap, server_pid=server.pid
        )
        stop.set()
        writer.join()
        results.append(tenant_phase)
    finally:
        stop.set()
        stop_server(server)
    tenant_log.seek(0)
    hits, misses = catalog_counts(tenant_log.read())
    tenant_log.close()
    os.unlink(hooks.name)
    marker.unlink()

    port = free_port()
    server = start_server(database_url, port, workers, log, **shared)
    try:
        # Warm-up (not measured): every worker loads its code and opens its database connection.
        run_phase("warm-up", port, availability_jobs[: workers * 8], workers * 2, time_cap)
        rss_before = worker_rss(server.pid)
        results.append(
            run_phase("availability (1 day)", port, availability_jobs, clients, time_cap, server_pid=server.pid)
        )

        distinct = [(start, host) for start in starts for host in bench["staff_uuids"]]
        distinct = distinct[: n_create + n_idempotent + n_paced]
        rng.shuffle(distinct)
        create_jobs = [
            ("POST", "/api/calendar/v1/public/bookings", headers, create_body(start, n, host))
            for n, (start, host) in enumerate(distinct)
        ]
        results.append(
            run_phase("create, distinct slots", port, create_jobs[:n_create], clients, time_cap, server_pid=server.pid)
        )
        idempotent_jobs = [
            (method, path, {**job_headers, "Idempotency-Key": f"bench-{os.getpid()}-{n}"}, body)
            for n, (method, path, job_headers, body) in enumerate(create_jobs[n_create : n_create + n_idempotent])
        ]
        results.append(
            run_phase("create, Idempotency-Key", port, idempotent_jobs, clients, time_cap, server_pid=server.pid)
        )
        paced = f"create at {create_rate:g}/s, distinct"
        results.append(
            run_phase(
                paced,
                port,
                create_jobs[n_create + n_idempotent :],
                clients,
                time_cap,
                rate=create_rate,
                server_pid=server.pid,
            )
        )

        race_starts = local_starts(first_day + timedelta(days=days + 1), 1)[:race_slots]
        race_jobs = [
            (
                "POST",
                "/api/calendar/v1/public/bookings",
                headers,
                create_body(race_starts[n % len(race_starts)], 100_000 + n, None),
            )
            for n in range(n_race)
        ]
        results.append(
            run_phase(f"create, race on {race_slots} slots", port, race_jobs, clients, time_cap, server_pid=server.pid)
        )
        rss_after = worker_rss(server.pid)
    finally:
        stop_server(server)

    log.seek(0)
    tracebacks = log.read().count("Traceback")
    log.close()
    cache = f"Redis cache {redis}" if redis else "no Redis: each worker caches alone"
    print(f"http_load: gunicorn {workers} workers, {clients} client threads, 127.0.0.1, PostgreSQL, {cache}")
    for result in results:
        print("  " + result.report())
    served = sum(len(r.latencies) for r in results[2:])  # the main server's phases, after its warm-up
    print(f"  gunicorn workers' resident memory over {served:,} requests: {rss_report('before', rss_before)};"
          f" {rss_report('after', rss_after)}")  # fmt: skip
    lookups = hits + misses
    print(f"  catalog cache, {n_tenants} tenants with {written[0]} catalog writes: {hits:,} of {lookups:,} service"
          f" lookups answered from the cache (hit rate {hits / lookups if lookups else 0:.1%})")  # fmt: skip
    race = results[-1]
    fivexx = sum(n for r in results for code, n in r.statuses.items() if code >= 500 or code == 0)
    doubles = double_bookings(bench["org_id"])
    print(f"  race winners: {race.statuses.get(201, 0)} (at most {race_slots} slots x {STAFF_COUNT} staff)")
    print(f"  double bookings in the database: {doubles}")
    print(f"  5xx answers and connection errors: {fivexx}; tracebacks in the server log: {tracebacks} ({log.name})")
    return 1 if doubles or fivexx or race.statuses.get(201, 0) > race_slots * STAFF_COUNT else 0


if __name__ == "__main__":
    sys.exit(main())
