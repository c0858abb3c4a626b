"""`python -m tests.bench` (`make bench`): every benchmark, on SQLite and on PostgreSQL when reachable.

Benchmarks print figures (medians and p95); they assert nothing. Each runs in its own process
against its own throw-away database, so the figures of one never include another's warm-up.
"""

import os
import subprocess
import sys

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def postgres_reachable() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_URL.replace("postgres://", "postgresql://"), connect_timeout=2).close()
        return True
    except Exception:  # noqa: BLE001 - unreachable for whatever reason: skip, and say so
        return False


def run(module: str, database_url: str | None) -> int:
    env = {**os.environ}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.call([sys.executable, "-m", module], env=env)


def main() -> int:
    failures = run("tests.bench.scheduling", None)
    if postgres_reachable():
        failures += run("tests.bench.scheduling", PG_URL)
    else:
        print(f"PostgreSQL not reachable at {PG_URL}: skipped the PostgreSQL run")
    # The growth table (10,000 and 100,000 bookings; BENCH_SCALE=large adds 1,000,000): on PostgreSQL,
    # where the platform runs at that size, else on SQLite.
    failures += run("tests.bench.scale", PG_URL if postgres_reachable() else None)
    # The HTTP load benchmark (gunicorn on 127.0.0.1) needs PostgreSQL and fills the database.
    bench_url = os.environ.get("BENCH_DATABASE_URL") or (PG_URL if postgres_reachable() else "")
    if bench_url:
        failures += subprocess.call(
            [sys.executable, "-m", "tests.bench.http_load"], env={**os.environ, "BENCH_DATABASE_URL": bench_url}
        )
    else:
        print("PostgreSQL not reachable: skipped the HTTP load benchmark (set BENCH_DATABASE_URL)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
