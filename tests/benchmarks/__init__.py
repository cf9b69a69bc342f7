"""Benchmarks: scripts run by `make bench`, not timed pass/fail tests."""
