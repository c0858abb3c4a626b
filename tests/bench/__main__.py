"""`python -m tests.bench`: run every benchmark and print its figures."""

print("no benchmarks yet")
