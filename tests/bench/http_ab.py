"""This checkout against another, side by side: CPU per request of each, their requests interleaved.

    BENCH_BASE=/path/to/other/checkout BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python -m tests.bench.http_ab

Why: this machine's speed drifts by a third within minutes, more than most changes move the figures,
so one whole run of `tests.bench.http_load` per checkout, one after the other, compares two machines.
Here both checkouts serve at once (gunicorn as the load benchmark starts it, each on a database of
its own: BENCH_DATABASE_URL, and the same name with `_base` for the other), and each phase is cut
into rounds: a batch of requests to one, then the same kind of batch to the other, the order
swapped every round. Each batch's CPU (gunicorn, every PostgreSQL process, the whole machine) is
read before and after it; only one server is busy at a time, so the batch's figures are its own.

Phases: availability with the answer, catalog and API key caches off, availability answered from the cache
(every day asked once before), and creates of distinct slots. Printed for each: the median over the
rounds of each checkout's CPU ms per request, and the median of the rounds' ratios (this / base).
Every answer must be a 200 or 201; a batch with any other counts as a failure of the run.

The other checkout (an older commit in a git worktree, say) runs with this checkout's Python and
packages, and must have tests/bench/http_load.py's `setup_database`. Bounded: BENCH_AB_ROUNDS (6)
rounds, BENCH_AB_BATCH (200) requests a batch, BENCH_CLIENTS (32) client threads, BENCH_WORKERS (4)
gunicorn workers each, BENCH_TIME_CAP (60 s) a batch, BENCH_AB_PHASES (1,2,3: which phases, by
number). Never run by pytest.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.bench.http_load import (
    BASE_DIR,
    CACHES_OFF,
    ORG_SLUG,
    SERVICE_SLUG,
    TZ,
    create_body,
    env_int,
    free_port,
    local_starts,
    redis_url,
    run_phase,
    start_server,
    stop_server,
)

SEED = "import json, tests.bench.http_load as h; print('SEEDED ' + json.dumps(h.setup_database({url!r})))"
FIGURES = ("gunicorn", "postgres", "machine")


@dataclass
class Variant:
    name: str
    checkout: Path
    database_url: str
    seeded: dict = field(default_factory=dict)
    server: subprocess.Popen | None = None
    port: int = 0
    batches: list[dict[str, float]] = field(default_factory=list)  # CPU ms per request, per figure


def seed(variant: Variant) -> None:
    """The variant's own code migrates and seeds its database (in a process of its own)."""
    done = subprocess.run(
        [sys.executable, "-c", SEED.format(url=variant.database_url)],
        cwd=variant.checkout,
        env={**os.environ, "DATABASE_URL": variant.database_url, "PYTHONPATH": str(variant.checkout)},
        check=True,
        capture_output=True,
        text=True,
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith("SEEDED "))
    variant.seeded = json.loads(line.removeprefix("SEEDED "))


def availability_jobs(variant: Variant, days: list) -> list:
    headers = {"x-kordless-key": variant.seeded["secret"]}
    return [
        ("GET", f"/api/calendar/v1/public/availability?org_slug={ORG_SLUG}&service_slug={SERVICE_SLUG}"
         f"&from={day}T00:00:00Z&to={day}T23:59:59Z", headers, None)
        for day in days
    ]  # fmt: skip


def create_jobs(variant: Variant, slots: list) -> list:
    headers = {"x-kordless-key": variant.seeded["secret"], "Content-Type": "application/json"}
    hosts = variant.seeded["staff_uuids"]
    return [
        ("POST", "/api/calendar/v1/public/bookings", headers, create_body(start, n, hosts[host]))
        for n, (start, host) in enumerate(slots)
    ]


def batch(variant: Variant, jobs: list, clients: int, time_cap: float) -> bool:
    """One batch to this variant's server; its CPU per request kept. False if any answer failed."""
    assert variant.server is not None
    result = run_phase(variant.name, variant.port, jobs, clients, time_cap, server_pid=variant.server.pid)
    done = len(result.latencies)
    variant.batches.append({name: result.server_cpu[name] / done * 1000 for name in FIGURES} if done else {})
    return done == len(jobs) and all(200 <= status < 300 for status in result.statuses)


def report(phase: str, new: Variant, base: Variant) -> str:
    lines = [f"  {phase}: {len(new.batches)} rounds, CPU ms per request (median of the rounds)"]
    for name in FIGURES:
        ours = [b[name] for b in new.batches if b]
        theirs = [b[name] for b in base.batches if b]
        ratios = [a[name] / b[name] for a, b in zip(new.batches, base.batches, strict=True) if a and b and b[name] > 0]
        lines.append(
            f"    {name:<9} base {statistics.median(theirs):6.2f}  this {statistics.median(ours):6.2f}"
            f"  ratio {statistics.median(ratios):.2f} (rounds {min(ratios):.2f}..{max(ratios):.2f})"
        )
    return "\n".join(lines)


def main() -> int:
    database_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    base_checkout = os.environ.get("BENCH_BASE", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not base_checkout:
        print("http_ab: skipped (set BENCH_BASE to another checkout and BENCH_DATABASE_URL to PostgreSQL)")
        return 0
    rounds, size = env_int("BENCH_AB_ROUNDS", 6), env_int("BENCH_AB_BATCH", 200)
    clients, workers = env_int("BENCH_CLIENTS", 32), env_int("BENCH_WORKERS", 4)
    time_cap = float(os.environ.get("BENCH_TIME_CAP") or 60)
    redis = redis_url()
    new = Variant("this", BASE_DIR, database_url)
    base = Variant("base", Path(base_checkout).resolve(), database_url + "_base")
    for variant in (new, base):
        _create_database(variant.database_url)
    print(f"http_ab: this checkout ({BASE_DIR}) against {base.checkout}, seeding ...", flush=True)
    for variant in (new, base):
        seed(variant)

    rng = random.Random(1)
    first_day = datetime.now(ZoneInfo(TZ)).date() + timedelta(days=2)
    days = [first_day + timedelta(days=n) for n in range(60)]
    asked = [rng.choice(days) for _ in range(rounds * size)]
    per_day = len(local_starts(first_day, 1)) * 4
    starts = local_starts(first_day + timedelta(days=61), rounds * size // per_day + 2)
    slots = [(start, host) for start in starts for host in range(4)]
    rng.shuffle(slots)
    failures = 0
    log = tempfile.NamedTemporaryFile("w+", prefix="http_ab-gunicorn-", suffix=".log", delete=False)
    measured, spare = slots[: rounds * size], slots[rounds * size : rounds * size + workers * 8]
    phases = [  # (name, the servers' settings, a warm-up's requests, the measured requests)
        ("availability, caches off", CACHES_OFF, lambda v: availability_jobs(v, asked[: workers * 8]),
         lambda v: availability_jobs(v, asked)),
        ("availability, cached", {}, lambda v: availability_jobs(v, days), lambda v: availability_jobs(v, asked)),
        ("create, distinct slots", {}, lambda v: create_jobs(v, spare), lambda v: create_jobs(v, measured)),
    ]  # fmt: skip
    wanted = os.environ.get("BENCH_AB_PHASES", "")
    phases = [phase for n, phase in enumerate(phases, 1) if not wanted or str(n) in wanted.split(",")]
    print(f"http_ab: {rounds} rounds of {size} requests each, {clients} clients, gunicorn {workers} workers each")
    for phase, env, warm, jobs_of in phases:
        for variant in (new, base):
            variant.batches = []
            variant.port = free_port()
            shared = {"REDIS_URL": redis, "CACHE_KEY_PREFIX": f"http-ab-{variant.name}-{os.getpid()}"} if redis else {}
            variant.server = start_server(
                variant.database_url, variant.port, workers, log, checkout=variant.checkout, **env, **shared
            )
        try:
            for variant in (new, base):  # not measured: code loaded, connections open, the cache filled
                run_phase("warm-up", variant.port, warm(variant), clients, time_cap)
            jobs = {variant.name: jobs_of(variant) for variant in (new, base)}
            for n in range(rounds):
                for variant in (new, base) if n % 2 == 0 else (base, new):
                    ok = batch(variant, jobs[variant.name][n * size : (n + 1) * size], clients, time_cap)
                    failures += not ok
        finally:
            for variant in (new, base):
                if variant.server is not None:
                    stop_server(variant.server)
        print(report(phase, new, base), flush=True)
    print(f"  batches with a failed answer: {failures} (gunicorn log: {log.name})")
    return 1 if failures else 0


def _create_database(database_url: str) -> None:
    """CREATE DATABASE, unless it is there already (the base's is named after this checkout's)."""
    import psycopg

    server, _, name = database_url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    sys.exit(main())
