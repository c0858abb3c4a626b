"""Benchmarks, run by `make bench` (never by pytest): they print figures, they assert nothing."""
